"""``procwatch sources``: what is configured."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from crawler.cli.app import USAGE_EXIT, ConfigOption, JsonOption, app, console, fail, print_json, read_config


@app.command("sources")
def sources_command(
    tag: Annotated[str | None, typer.Option(help="only sources with this tag, region, kind or level (四川)")] = None,
    kind: Annotated[str | None, typer.Option(help="procuratorate | political-legal | media")] = None,
    level: Annotated[str | None, typer.Option(help="national | provincial | municipal | county")] = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """List the configured sources (and validate sources.yaml and the files it includes)."""
    loaded = read_config(config)
    chosen = [
        s
        for s in loaded.sources
        if (tag is None or tag in s.all_tags)
        and (kind is None or str(s.kind) == kind)
        and (level is None or str(s.level) == level)
    ]
    if not chosen and (tag or kind or level):
        wanted = ", ".join(f"{k} {v!r}" for k, v in (("tag", tag), ("kind", kind), ("level", level)) if v)
        fail(f"procwatch: no configured source has {wanted}", USAGE_EXIT)
    if json:
        print_json([source.model_dump(mode="json") for source in chosen])
        return
    table = Table("id", "name", "adapter", "lists", "schedule", "enabled", title=f"{len(chosen)} sources")
    for source in chosen:
        table.add_row(
            source.id,
            source.name,
            source.adapter,
            "\n".join(source.lists),
            source.schedule.describe(),
            "yes" if source.enabled else "no",
        )
    console.print(table)
