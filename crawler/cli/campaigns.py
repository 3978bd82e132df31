"""``procwatch campaigns``: extract, list and trace campaigns and formulations."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from crawler.campaigns.lexicon import load_lexicon
from crawler.cli.app import (
    ConfigOption,
    DbOption,
    JsonOption,
    console,
    fail,
    open_store,
    option_date,
    print_json,
    read_config,
)
from crawler.dates import BEIJING, beijing_iso, beijing_minute
from crawler.errors import LexiconError
from storage.emerging import EMERGING_MIN_SOURCES, EMERGING_WINDOW

if TYPE_CHECKING:
    from crawler.campaigns.lexicon import Lexicon
    from storage.campaigns import EmergingCampaign
    from storage.models import Campaign

LexiconOption = Annotated[
    Path | None, typer.Option("--lexicon", help="your lexicon file [default: settings.lexicon of the sources file]")
]
campaigns_app = typer.Typer(help="Campaigns and formulations (提法).", no_args_is_help=True)


MAX_DOCUMENT_BYTES = 5_000_000  # the longest real article pages are well under 1 MB
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def read_document(path: Path, max_bytes: int = MAX_DOCUMENT_BYTES) -> str:
    """Text of a plain-text or HTML file in any encoding (the article part, for HTML). Empty, binary,
    undecodable and oversized files are refused with one line (exit 2): they hold no text to search."""
    from crawler.decode import decode_html
    from crawler.errors import ExtractionError
    from crawler.extract import extract_article

    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        fail(f"{path}: {exc.strerror or exc}", 2)
    if len(raw) > max_bytes:
        fail(f"{path}: larger than {max_bytes:,} bytes (--max-bytes); not an article", 2)
    if not raw.strip():
        fail(f"{path}: empty file", 2)
    if b"\x00" in raw and not raw.startswith(_UTF16_BOMS):
        fail(f"{path}: binary data (NUL bytes), not text or HTML", 2)
    text = decode_html(raw).text
    if text.count("\ufffd") > max(10, len(text) // 20):
        fail(f"{path}: not text in any encoding procwatch knows (UTF-8, GBK, GB18030, Big5 ...)", 2)
    if "<" in text[:2000] and ("</p>" in text.lower() or "<html" in text.lower() or "<body" in text.lower()):
        try:
            article = extract_article(text, path.resolve().as_uri())
            return article.title + "\n" + article.body_text
        except ExtractionError:
            from crawler.html_tree import parse_html

            return parse_html(text).text(separator="\n")
    return text


@campaigns_app.command("extract")
def extract_command(
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="text or HTML files, any encoding")],
    lexicon: Annotated[Path | None, typer.Option(help="extra lexicon YAML (campaigns:/formulations: lists)")] = None,
    max_bytes: Annotated[int, typer.Option(min=1, help="refuse files larger than this")] = MAX_DOCUMENT_BYTES,
    json: JsonOption = False,
) -> None:
    """Find campaigns and formulations in documents."""
    from crawler.campaigns import CampaignExtractor

    try:
        extractor = CampaignExtractor(load_lexicon(lexicon))
    except LexiconError as exc:
        fail(str(exc), 2)
    results = {str(path): extractor.extract(read_document(path, max_bytes)) for path in files}
    if json:
        if len(files) == 1:
            print_json([m.to_json() for m in next(iter(results.values()))])
        else:
            print_json({name: [m.to_json() for m in found] for name, found in results.items()})
        return
    for name, found in results.items():
        table = Table("name", "kind", "count", "context", title=name)
        for mention in found:
            table.add_row(
                mention.name, mention.kind, str(mention.count), mention.contexts[0] if mention.contexts else ""
            )
        console.print(table)


@campaigns_app.command("list")
def list_command(
    new_since: Annotated[
        str | None, typer.Option(help="only new campaigns first seen by procwatch on or after DATE")
    ] = None,
    source: Annotated[str | None, typer.Option(help="only campaigns mentioned by this source")] = None,
    json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Campaigns seen so far, most recently first seen first; known ones were there at the first crawl."""
    rows = open_store(db).campaigns.campaigns(new_since=option_date(new_since, "--new-since"), source_id=source)
    if json:
        print_json(
            [
                {
                    "name": c.name,
                    "kind": c.kind,
                    "first_seen_at": beijing_iso(c.first_seen_at),
                    "first_published_at": beijing_iso(c.first_published_at),
                    "known_at_start": c.baseline,
                    "first_source": c.first_source_id,
                    "articles": n,
                }
                for c, n in rows
            ]
        )
        return
    table = Table("first seen", "published", "name", "kind", "first source", "articles", title=f"{len(rows)} campaigns")
    for campaign, articles in rows:
        table.add_row(
            beijing_minute(campaign.first_seen_at) + (" (known)" if campaign.baseline else ""),
            beijing_minute(campaign.first_published_at)[:10] if campaign.first_published_at else "",
            campaign.name,
            campaign.kind,
            campaign.first_source_id,
            str(articles),
        )
    console.print(table)


@campaigns_app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="campaign name")], json: JsonOption = False, db: DbOption = None
) -> None:
    """First mention, then the first mention in each source in time order: how a campaign spread."""
    from crawler.campaigns import prepare

    spread = open_store(db).campaigns.campaign_spread(prepare(name).strip("“”\"' "))
    if spread is None:
        fail(f"no campaign named {name!r} has been seen", 1)
    campaign = spread.campaign
    timeline = [
        {
            "source": row.source_id,
            "first_seen_at": beijing_iso(row.first_seen_at),
            "first_published_at": beijing_iso(row.first_published_at),
            "known_at_start": row.baseline,
            "url": article.url if article else None,
            "title": article.title if article else None,
            "context": row.context,
        }
        for row, article in spread.sources
    ]
    if json:
        print_json(
            {
                "name": campaign.name,
                "kind": campaign.kind,
                "first_seen_at": beijing_iso(campaign.first_seen_at),
                "first_published_at": beijing_iso(campaign.first_published_at),
                "known_at_start": campaign.baseline,
                "first_source": campaign.first_source_id,
                "first_url": spread.first_article.url if spread.first_article else None,
                "first_context": campaign.first_context,
                "spread": timeline,
            }
        )
        return
    console.print(f"[bold]{campaign.name}[/bold] ({campaign.kind})")
    first = spread.first_article
    known = " (known at the first crawl)" if campaign.baseline else ""
    published = beijing_minute(campaign.first_published_at) if campaign.first_published_at else "unknown"
    console.print(
        f"first seen {beijing_minute(campaign.first_seen_at)}{known}; first published {published} in "
        f"{campaign.first_source_id}: {first.title if first else ''} {first.url if first else ''}",
        markup=False,
    )
    console.print(f"  …{campaign.first_context}…", markup=False)
    table = Table("first seen", "published", "source", "article", title="spread")
    for row, article in spread.sources:
        table.add_row(
            beijing_minute(row.first_seen_at) + (" (known)" if row.baseline else ""),
            beijing_minute(row.first_published_at)[:10] if row.first_published_at else "",
            row.source_id,
            article.title if article else "",
        )
    console.print(table)


def _lexicon_and_file(config: Path | None, lexicon: Path | None) -> tuple[Lexicon, Path | None]:
    """The lexicon in force (shipped + the sources file's settings.lexicon) and the user's lexicon file."""
    from crawler.config import config_path

    path = lexicon
    if path is None and (config is not None or config_path().exists()):
        path = read_config(config).lexicon_path
    try:
        return load_lexicon(path if path is not None and path.exists() else None), path
    except LexiconError as exc:
        fail(str(exc), 2)


@campaigns_app.command("emerging")
def emerging_command(
    since: Annotated[str | None, typer.Option(help="first seen on or after DATE [default: 30 days ago]")] = None,
    min_sources: Annotated[int, typer.Option(min=1, help="mentioned by at least N sources")] = EMERGING_MIN_SOURCES,
    json: JsonOption = False,
    config: ConfigOption = None,
    lexicon: LexiconOption = None,
    db: DbOption = None,
) -> None:
    """Names that appeared recently in several sources and are in no lexicon: campaigns in the making."""
    known, _ = _lexicon_and_file(config, lexicon)
    start = option_date(since, "--since") or datetime.now(BEIJING) - EMERGING_WINDOW
    rows = open_store(db).campaigns.emerging(since=start, min_sources=min_sources, exclude=known.kinds)
    if json:
        print_json([emerging_json(row) for row in rows])
        return
    table = Table("first seen", "name", "kind", "sources", "articles", "spread", title=f"{len(rows)} emerging")
    for row in rows:
        spread = ", ".join(f"{s.source_id} {beijing_minute(s.first_seen_at)[:10]}" for s, _ in row.sources)
        table.add_row(
            beijing_minute(row.campaign.first_seen_at),
            row.campaign.name,
            row.campaign.kind,
            str(len(row.sources)),
            str(row.articles),
            spread,
        )
    console.print(table)


def emerging_json(row: EmergingCampaign) -> dict[str, object]:
    campaign = row.campaign
    return {
        "name": campaign.name,
        "kind": campaign.kind,
        "first_seen_at": beijing_iso(campaign.first_seen_at),
        "first_published_at": beijing_iso(campaign.first_published_at),
        "first_source": campaign.first_source_id,
        "first_context": campaign.first_context,
        "articles": row.articles,
        "sources": [
            {"source": s.source_id, "first_seen_at": beijing_iso(s.first_seen_at), "url": a.url if a else None}
            for s, a in row.sources
        ],
    }


@campaigns_app.command("accept")
def accept_command(
    name: Annotated[str, typer.Argument(help="campaign name, as `campaigns emerging` lists it")],
    config: ConfigOption = None,
    lexicon: LexiconOption = None,
    db: DbOption = None,
) -> None:
    """Accept a discovered name: it leaves the emerging list and joins your lexicon file, if you have one."""
    from crawler.campaigns.lexicon import add_to_lexicon_file

    campaign = _set_status(name, "accepted", db)
    _, path = _lexicon_and_file(config, lexicon)
    if path is None:
        console.print(f"accepted {campaign.name}; set settings.lexicon (or --lexicon) to also add it to a file")
        return
    try:
        added = add_to_lexicon_file(path, campaign.name, campaign.kind, campaign.first_seen_at.astimezone(BEIJING).year)
    except (LexiconError, OSError) as exc:
        fail(f"accepted {campaign.name}, but {path} was not changed: {exc}", 1)
    console.print(f"accepted {campaign.name}; " + (f"added to {path}" if added else f"already in {path}"))


@campaigns_app.command("mute")
def mute_command(
    name: Annotated[str, typer.Argument(help="campaign name, as `campaigns emerging` lists it")],
    db: DbOption = None,
) -> None:
    """Mute a discovered name: it is still recorded, but never proposed as emerging again."""
    campaign = _set_status(name, "muted", db)
    console.print(f"muted {campaign.name}")


def _set_status(name: str, status: str, db: str | None) -> Campaign:
    from crawler.campaigns import prepare

    campaign = open_store(db).campaigns.set_campaign_status(prepare(name).strip("“”\"' "), status)
    if campaign is None:
        fail(f"no campaign named {name!r} has been seen", 1)
    return campaign
