"""Sources that publish RSS or Atom: the feed is the list page; articles are fetched as usual."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import feedparser

from crawler.adapters.base import Adapter, ListPage, register
from crawler.dates import BEIJING, parse_date
from crawler.listing import ListedLink, clean_url
from crawler.normalise import clean_inline

# Feeds have no business declaring entities: drop the DOCTYPE (and its internal subset) before the
# XML parser sees it, so entity-expansion tricks (billion laughs) cost nothing at all.
_DOCTYPE = re.compile(r"<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>", re.S | re.I)


@register("feed")
class FeedAdapter(Adapter):
    def parse_list(self, html: str, url: str, *, backfill: int = 0) -> ListPage:
        parsed = feedparser.parse(_DOCTYPE.sub("", html, count=1), sanitize_html=True, resolve_relative_uris=False)
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
