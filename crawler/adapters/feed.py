"""Sources that publish RSS or Atom: the feed is the list page; articles are fetched as usual."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import feedparser

from crawler.adapters.base import Adapter, ListPage, register
from crawler.dates import BEIJING, parse_date
from crawler.html_tree import bounded_nesting
from crawler.listing import ListedLink, clean_url
from crawler.normalise import clean_inline

# Feeds have no business declaring entities: drop the DOCTYPE (and its internal subset) before the
# XML parser sees it, so entity-expansion tricks (billion laughs) cost nothing at all.
_DOCTYPE = re.compile(r"<!DOCTYPE", re.I)


def _without_doctype(text: str) -> str:
    """``text`` without its first DOCTYPE, internal subset and all; one forward pass (a pattern with a
    lazy subset rescanned the rest of the text from every ``<!DOCTYPE [``)."""
    start = _DOCTYPE.search(text)
    if start is None:
        return text
    end = text.find(">", start.end())
    bracket = text.find("[", start.end(), end if end >= 0 else len(text))
    if bracket >= 0:  # an internal subset: the declaration ends at the first > after its ]
        close = text.find("]", bracket)
        end = text.find(">", close) if close >= 0 else -1
    return text[: start.start()] + text[end + 1 :] if end >= 0 else text[: start.start()]


@register("feed")
class FeedAdapter(Adapter):
    def parse_list(self, html: str, url: str, *, backfill: int = 0) -> ListPage:
        text = bounded_nesting(_without_doctype(html))
        parsed = feedparser.parse(text, sanitize_html=True, resolve_relative_uris=False)
        links: list[ListedLink] = []
        seen: set[str] = set()
        for entry in parsed.entries:
            link = clean_url(entry.get("link") or "", url)
            if link is None or link in seen:
                continue
            seen.add(link)
            links.append(ListedLink(url=link, title=clean_inline(entry.get("title", "")), listed_at=_entry_date(entry)))
        return ListPage(links=links, next_pages=[])


def _entry_date(entry: feedparser.FeedParserDict) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            # feedparser normalises to UTC struct_time
            year, month, day, hour, minute, second = parsed[:6]
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC).astimezone(BEIJING)
    return parse_date(entry.get("published") or entry.get("updated"))
