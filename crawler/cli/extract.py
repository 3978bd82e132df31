"""``procwatch extract URL|FILE``: what would be stored for one page, and which rule found each field.

The equivalent of urlwatch's ``--test-filter``: try a new source's selectors before saving anything.
``procwatch fetch SOURCE --dry-run`` prints the same block per article.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crawler.cli.app import ConfigOption, JsonOption, app, console, fail, find_source, print_json, read_config
from crawler.config import Config, Source
from crawler.dates import beijing_iso, beijing_minute

if TYPE_CHECKING:
    from crawler.extract import ExtractedArticle


def article_json(article: ExtractedArticle, *, html: bool = False) -> dict[str, Any]:
    from crawler.pipeline import extracted_json

    """The fields that would be stored, and the rule behind each."""
    data: dict[str, Any] = {
        "url": article.url,
        "title": article.title,
        "published_at": beijing_iso(article.published_at),
        "encoding": article.encoding,
        "body_chars": len(article.body_text),
        **extracted_json(article),
    }
    if html:
        data["body_html"] = article.body_html
    return data


def describe(article: ExtractedArticle, *, html: bool = False, body: bool = True) -> list[str]:
    """The same fields as lines for a terminal: ``field: value  [rule]``."""
    rules = article.rules

    def rule(name: str) -> str:
        return f"  [{rules[name]}]" if name in rules else ""

    lines = [
        f"title:      {article.title}{rule('title')}",
        f"published:  {beijing_minute(article.published_at)}{rule('published')}",
    ]
    if article.meta_published_at is not None:
        lines.append(f"meta date:  {beijing_minute(article.meta_published_at)}  [differs from the displayed date]")
    lines += [
        f"来源:       {article.source_label or '-'}{rule('source')}",
        f"author:     {article.author or '-'}{rule('author')}",
        f"status:     {article.status} ({len(article.body_text)} characters){rule('body')}",
    ]
    lines += [f"attachment: {url}" for url in article.attachments]
    if body:
        lines += ["", article.body_text]
    if html:
        lines += ["", article.body_html]
    return lines


async def _download(url: str, source: Source | None, config: Config) -> tuple[str, str, str]:
    """The page as text (decoded with its HTTP charset and the source's encoding), its final URL and charset."""
    from crawler.access import Access
    from crawler.errors import FetchError
    from crawler.runtime import Runtime

    async with Runtime(config, None, fetcher_options={"retries": 0}) as runtime:
        access = Access.of(source, config.settings) if source else Access.typed(config.settings)
        response = await runtime.fetcher.get(url, access=access)
    if response.status >= 400:
        raise FetchError(url, f"HTTP {response.status}")
    decoded = response.decode(source.encoding if source else None)
    return decoded.text, str(response.url), decoded.encoding


@app.command("extract")
def extract_command(
    target: Annotated[str, typer.Argument(metavar="URL|FILE", help="an article URL, or a saved page")],
    source_id: Annotated[
        str | None, typer.Option("--source", metavar="ID", help="use this source's selectors, encoding and TLS setting")
    ] = None,
    html: Annotated[bool, typer.Option("--html", help="also print the sanitised body HTML")] = False,
    json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Show what would be stored for one page, and which rule found each field. Stores nothing."""
    from crawler.errors import ExtractionError, FetchError
    from crawler.extract import extract_article
    from crawler.runtime import Runtime

    # Without --source no sources file is needed: a page can be tried before it is configured.
    loaded = read_config(config) if source_id else None
    source = find_source(loaded, source_id) if loaded and source_id else None
    encoding = source.encoding if source else None
    data: str | bytes
    if target.startswith(("http://", "https://")):
        try:
            data, url, encoding = asyncio.run(_download(target, source, loaded or Config()))
        except FetchError as exc:
            fail(f"error: {target}: {exc.message}", 1)
    else:
        path = Path(target)
        try:
            data = path.read_bytes()
        except OSError as exc:
            fail(f"error: {target}: cannot read the file: {exc.strerror or exc}", 2)
        url = path.resolve().as_uri()
    try:
        if source is not None:
            adapter = Runtime(loaded or Config(), None).adapter(source)
            article = adapter.parse_article(data, url, encoding=encoding)
        else:
            article = extract_article(data, url, encoding=encoding)
    except ExtractionError as exc:
        fail(f"error: {exc}", 1)
    except Exception as exc:  # a bug on this page: one line naming it, as a crawl records it
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        fail(f"error: {target}: cannot extract the page: {reason}", 1)
    if json:
        print_json(article_json(article, html=html))
    else:
        for line in describe(article, html=html):
            console.print(line, markup=False, highlight=False)
