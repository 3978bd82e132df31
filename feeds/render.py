"""Items to RSS 2.0 or Atom bytes (feedgen), deterministic for unchanged content so ETags hold."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from html import escape
from importlib.resources import files
from typing import Any
from xml.sax.saxutils import quoteattr

from feedgen.feed import FeedGenerator

from feeds.catalog import FeedSpec
from feeds.items import FeedItem
from feeds.safety import plain_text

FORMATS = {"xml": "rss", "atom": "atom"}
MEDIA_TYPES = {"rss": "application/rss+xml; charset=utf-8", "atom": "application/atom+xml; charset=utf-8"}
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def feed_url(base_url: str, spec: FeedSpec, fmt: str) -> str:
    extension = "xml" if fmt == "rss" else "atom"
    return f"{base_url.rstrip('/')}/{spec.path}.{extension}"


STYLESHEET_NAME = "feed.xsl"


@cache
def stylesheet() -> bytes:
    """The XSLT that turns a feed opened in a browser into a readable page."""
    return files("feeds").joinpath(STYLESHEET_NAME).read_bytes()


@cache
def _transform() -> Any:
    from lxml import etree  # feedgen's own dependency

    return etree.XSLT(etree.XML(stylesheet()))


def feed_as_page(document: bytes) -> bytes:
    """The feed as the HTML page its stylesheet describes, for browsers that no longer run XSLT
    (Chromium dropped it); Firefox and Safari apply the same stylesheet themselves to static files."""
    from lxml import etree

    return bytes(_transform()(etree.XML(document)))


def _with_stylesheet(document: bytes, base_url: str) -> bytes:
    declaration, newline, rest = document.partition(b"\n")
    href = quoteattr(f"{base_url.rstrip('/')}/{STYLESHEET_NAME}").encode()
    return declaration + newline + b'<?xml-stylesheet type="text/xsl" href=' + href + b"?>\n" + rest


def scoped_guid(guid: str, spec: FeedSpec) -> str:
    """An item's GUID within one feed. Readers keep one copy of a GUID across all their feeds, in
    whichever feed they read first: with the same GUID in all.xml and sources/spp.xml, newsboat
    showed all.xml empty. The feed's path goes in a fragment, so a permalink still opens the page."""
    return f"{guid}{'-' if '#' in guid else '#'}feed-{spec.path}"


def render_feed(spec: FeedSpec, items: Sequence[FeedItem], fmt: str, base_url: str) -> bytes:
    """One feed document. ``fmt`` is ``rss`` or ``atom``."""
    generator = FeedGenerator()
    self_url = feed_url(base_url, spec, fmt)
    generator.id(self_url)
    generator.title(plain_text(spec.title))
    generator.link(href=self_url, rel="self")
    generator.link(href=base_url.rstrip("/") + "/", rel="alternate")
    generator.description(plain_text(spec.title))
    generator.language("zh-CN")
    generator.generator("procwatch")
    newest = max((item.updated for item in items), default=EPOCH)
    generator.lastBuildDate(newest)
    generator.updated(newest)
    for item in reversed(items):  # feedgen prepends: add oldest first to list newest first
        entry = generator.add_entry()
        guid = scoped_guid(item.guid, spec)
        entry.id(guid)
        entry.guid(guid, permalink=item.permalink)
        entry.title(plain_text(item.title))
        entry.link(href=item.link)
        entry.published(item.published)
        entry.updated(item.updated)
        if fmt == "rss":
            entry.description(item.html)
        else:
            entry.summary(item.html, type="html")
        for category in item.categories:
            entry.category(term=plain_text(category))
        if item.author:
            entry.author(name=plain_text(item.author))
    if fmt == "rss":
        return _with_stylesheet(generator.rss_str(pretty=True), base_url)
    # Atom says what a title is: plain text (feedgen leaves the attribute out; every <title> is ours)
    return _with_stylesheet(generator.atom_str(pretty=True).replace(b"<title>", b'<title type="text">'), base_url)


def newest_update(items: Sequence[FeedItem]) -> datetime:
    return max((item.updated for item in items), default=EPOCH)


def opml(specs: Sequence[FeedSpec], base_url: str) -> bytes:
    """An OPML subscription list of every feed, for one-click import into a reader."""
    outlines = "\n".join(
        f'    <outline type="rss" text={quoteattr(spec.title)} title={quoteattr(spec.title)} '
        f"xmlUrl={quoteattr(feed_url(base_url, spec, 'rss'))} htmlUrl={quoteattr(base_url.rstrip('/') + '/')}/>"
        for spec in specs
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n  <head><title>procwatch feeds</title></head>\n'
        f"  <body>\n{outlines}\n  </body>\n</opml>\n"
    )
    return document.encode("utf-8")


def index_html(specs: Sequence[FeedSpec], base_url: str) -> bytes:
    """A page listing every feed, with <link rel="alternate"> so readers discover them."""
    links = "\n".join(
        f'<link rel="alternate" type="application/rss+xml" title={quoteattr(spec.title)} '
        f"href={quoteattr(feed_url(base_url, spec, 'rss'))}>"
        for spec in specs
    )
    rows = "\n".join(
        f"<li>{escape(spec.title)}: <a href={quoteattr(feed_url(base_url, spec, 'rss'))}>RSS</a> · "
        f"<a href={quoteattr(feed_url(base_url, spec, 'atom'))}>Atom</a></li>"
        for spec in specs
    )
    page = (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>procwatch</title>\n'
        f"{links}\n</head><body><h1>procwatch feeds</h1>"
        f'<p><a href="{escape(base_url.rstrip("/"))}/feeds.opml">feeds.opml</a>: all feeds for your reader. '
        "Filters: <code>?q=</code> <code>&amp;source=</code> <code>&amp;tag=</code> <code>&amp;campaign=</code> "
        "<code>&amp;limit=</code> (≤500) <code>&amp;fulltext=1</code></p>"
        f"<ul>\n{rows}\n</ul></body></html>"
    )
    return page.encode("utf-8")
