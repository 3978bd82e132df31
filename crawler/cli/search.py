"""``procwatch search QUERY``: every version of every article, newest match first."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crawler.cli.app import USAGE_EXIT, DbOption, JsonOption, app, console, fail, open_store, print_json
from crawler.dates import beijing_iso


@app.command("search")
def search_command(
    query: Annotated[
        str,
        typer.Argument(
            help='words (all must occur), "a phrase", A OR B, -word / NOT word, '
            "source:ID tag:TAG since:YYYY-MM-DD until:YYYY-MM-DD (a query starting with - after --)"
        ),
    ],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500, help="articles per page")] = 20,
    before: Annotated[int | None, typer.Option("--before", help="continue after this cursor (printed last)")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="sources file, for tag: filters", show_default=False)
    ] = None,
    json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Search titles and bodies of every stored version (Traditional and Simplified alike)."""
    from storage.search_terms import QueryError

    tags: dict[str, list[str]] | None = None
    if config is not None or "tag:" in query:
        from crawler.cli.app import read_config

        loaded = read_config(config)
        tags = {}
        for source in loaded.sources:
            for tag in source.all_tags:
                tags.setdefault(tag, []).append(source.id)
    store = open_store(db)
    try:
        page = store.search.search(query, limit=limit, before=before, tags=tags)
    except QueryError as exc:
        fail(f"procwatch search: {exc}", USAGE_EXIT)
    if json:
        print_json(
            {
                "query": query,
                "next_cursor": page.next_cursor,
                "hits": [
                    {
                        "url": hit.article.url,
                        "source": hit.article.source_id,
                        "title": hit.version.title,
                        "published_at": beijing_iso(hit.version.published_at),
                        "fetched_at": beijing_iso(hit.version.fetched_at),
                        "versions": hit.matching,
                        "current": hit.current,
                        "snippet": "".join(hit.snippet) if hit.snippet else None,
                        "found": hit.snippet[1] if hit.snippet else None,
                        "cursor": hit.cursor,
                    }
                    for hit in page.hits
                ],
            }
        )
        return
    if not page.hits:
        console.print("nothing found", markup=False)
        return
    for hit in page.hits:
        where = hit.versions_label + (
            "" if hit.current else f" (not in the current version {hit.article.current_version})"
        )
        console.print(f"{hit.version.title}  [{hit.article.source_id}, {where}]", markup=False)
        console.print(f"  {hit.article.url}", markup=False)
        if hit.snippet:
            before_text, found, after = hit.snippet
            console.print(f"  {before_text}【{found}】{after}", markup=False)
    if page.next_cursor is not None:
        console.print(f"more: procwatch search {query!r} --before {page.next_cursor}", markup=False)
