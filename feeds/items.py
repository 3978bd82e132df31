"""Feed items: what every feed kind (feeds.kinds) builds, and the helpers they share.

GUIDs are stable per event: an article's publication keeps its URL as GUID forever; a reported
edit gets ``URL#procwatch-vN``; a removal or restoration ``URL#procwatch-removed-ID``; a campaign
``urn:procwatch:campaign:NAME``. Rebuilding a feed never changes a GUID, and an edit is a new item.
Each feed scopes these by its own path when it renders them (feeds.render.scoped_guid).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime

from feeds.catalog import FeedSpec, SourceCatalog, kinds
from storage import Store
from storage.clock import BEIJING
from storage.models import Campaign, CampaignMention

SUMMARY_CHARS = 240
DIFF_TEXT_CAP = 20_000
MAX_LIMIT = 500


@dataclass(frozen=True)
class FeedQuery:
    """Filters a reader can put on a feed URL."""

    limit: int = 50
    q: str | None = None
    source: str | None = None
    tag_sources: tuple[str, ...] | None = None
    campaign: str | None = None
    fulltext: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "limit", max(1, min(MAX_LIMIT, self.limit)))


@dataclass(frozen=True)
class FeedItem:
    guid: str
    permalink: bool
    title: str
    link: str
    published: datetime
    updated: datetime
    html: str
    categories: tuple[str, ...] = ()
    author: str | None = None
    source_id: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False)


def source_scope(feed_sources: tuple[str, ...] | None, query: FeedQuery) -> list[str] | None:
    """The sources a feed (None: all) narrowed by the query's ``source`` and ``tag`` (None: every source)."""
    chosen = set(feed_sources) if feed_sources is not None else None
    for narrower in ((query.source,) if query.source else None, query.tag_sources):
        if narrower is not None:
            chosen = set(narrower) if chosen is None else chosen & set(narrower)
    return sorted(chosen) if chosen is not None else None


def items_for(store: Store, catalog: SourceCatalog, spec: FeedSpec, query: FeedQuery) -> list[FeedItem]:
    """The items of one feed, newest first."""
    return kinds()[spec.kind].build(store, catalog, query, source_scope(spec.source_ids, query))


def published_label(at: datetime | None) -> str:
    """A publication date shown beside the date procwatch saw a name."""
    return f"{beijing(at):%Y-%m-%d}" if at else "日期不详"


def beijing(value: datetime) -> datetime:
    return value.astimezone(BEIJING)


def categories(
    catalog: SourceCatalog, source_id: str, found: list[tuple[Campaign, CampaignMention]]
) -> tuple[str, ...]:
    tags: list[str] = []
    for source in catalog.sources:
        if source.id == source_id:
            tags = source.all_tags
    return tuple(dict.fromkeys([c.name for c, _ in found] + tags))


def mark_names(escaped_text: str, names: list[str], *, bold: bool = True) -> str:
    """Campaign names in <mark> (longest first), and in <strong> too unless ``bold`` is off: sanitising
    feed readers drop <mark> but keep bold; web pages style <mark> themselves."""
    if not names:
        return escaped_text
    pattern = re.compile("|".join(re.escape(html.escape(n)) for n in sorted(names, key=len, reverse=True)))
    wrap = "<mark><strong>{}</strong></mark>" if bold else "<mark>{}</mark>"
    return pattern.sub(lambda m: wrap.format(m.group(0)), escaped_text)
