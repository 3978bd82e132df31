"""``procwatch check``: probe every configured source and say, per source, whether it works."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from crawler.cli.app import FAILED, ConfigOption, JsonOption, app, console, err_console, fail, print_json, read_config


@app.command("check")
def check_command(
    sources: Annotated[list[str] | None, typer.Argument(help="source ids (default: every enabled source)")] = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Probe each source: list page, article links, one article extracted; a verdict per source
    (ok, no links, blocked, unreachable, TLS, extraction empty). Exit 1 if any is not ok. Stores nothing."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from crawler.access import Access
    from crawler.probe import Probe, Verdict, probe
    from crawler.runtime import Runtime

    loaded = read_config(config)
    known = {s.id: s for s in loaded.sources}
    unknown = [name for name in sources or [] if name not in known]
    if unknown:
        fail(f"procwatch: unknown source {unknown[0]!r} (procwatch sources lists them)", 2)
    chosen = [known[name] for name in sources] if sources else loaded.enabled_sources

    async def main(progress: Progress) -> list[Probe]:
        task = progress.add_task("probing", total=len(chosen))
        async with Runtime(loaded, None) as runtime:

            async def one(source_id: str) -> Probe:
                source = known[source_id]
                result = await probe(
                    source, runtime.adapter(source), runtime.fetcher, Access.of(source, loaded.settings)
                )
                progress.advance(task)
                return result

            return list(await asyncio.gather(*(one(s.id) for s in chosen)))

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True, disable=json) as progress:
        results = asyncio.run(main(progress))
    if json:
        print_json([r.as_dict() for r in results])
    else:
        table = Table("source", "verdict", "links", "article", "body", "detail", title=f"{len(results)} sources")
        for r in results:
            style = "green" if r.verdict is Verdict.ok else "red"
            article = f"{r.title or '?'} ({(r.published or '?')[:10]})" if r.article_url else ""
            table.add_row(
                r.source, f"[{style}]{r.verdict}[/]", str(r.links), article, str(r.body_chars or ""), r.detail
            )
        console.print(table)
    failed = [r for r in results if r.verdict is not Verdict.ok]
    if failed:
        raise typer.Exit(FAILED)
