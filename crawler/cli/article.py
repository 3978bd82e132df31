"""``procwatch article URL``: one stored article with all its versions."""

from __future__ import annotations

from typing import Annotated

import typer

from crawler.cli.app import DbOption, JsonOption, app, console, fail, open_store, print_json
from crawler.dates import beijing_iso


@app.command("article")
def article_command(
    url: Annotated[str, typer.Argument(help="the article's URL")],
    json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Show a stored article, its versions and body text."""
    found = open_store(db).history.get_article(url)
    if found is None:
        fail(f"no stored article at {url}", 1)
    article, versions = found.article, found.versions
    if json:
        print_json(
            {
                "url": article.url,
                "source": article.source_id,
                "status": article.status,
                "title": article.title,
                "published_at": beijing_iso(article.published_at),
                "removed_at": beijing_iso(article.removed_at),
                "versions": [
                    {
                        "version": v.version,
                        "content_hash": v.content_hash,
                        "title": v.title,
                        "published_at": beijing_iso(v.published_at),
                        "fetched_at": beijing_iso(v.fetched_at),
                        "source_label": v.source_label,
                        "author": v.author,
                        "change_chars": v.change_chars,
                        "body_text": v.body_text,
                    }
                    for v in versions
                ],
            }
        )
        return
    console.print(f"[bold]{article.title}[/bold]")
    console.print(
        f"{article.url}\nsource: {article.source_id}   status: {article.status}   "
        f"published: {beijing_iso(article.published_at)}",
        markup=False,
    )
    latest = versions[-1]
    for v in versions:
        console.print(
            f"  v{v.version}  fetched {beijing_iso(v.fetched_at)}  {len(v.body_text)} chars  "
            f"±{v.change_chars}  {v.content_hash[:12]}",
            markup=False,
        )
    meta = "  ".join(f"{k}: {val}" for k, val in (("来源", latest.source_label), ("作者", latest.author)) if val)
    if meta:
        console.print(meta, markup=False)
    console.print()
    console.print(latest.body_text, markup=False, highlight=False)
