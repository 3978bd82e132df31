"""Filters a reader puts on a feed or page URL, checked once for both: a filter naming nothing we know
answers 400 with a one-line reason, never an empty feed a reader would take for a quiet week."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from feeds.catalog import SourceCatalog, tags
from feeds.errors import FilterError
from feeds.items import MAX_LIMIT, FeedQuery, source_scope
from storage.clock import BEIJING
from storage.search_terms import QueryError
from storage.search_terms import parse as parse_query

MAX_ID = 2**63 - 1  # the largest id a database column holds; beyond it nothing can match
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")
MAX_PARAMETER = 200  # a filter longer than this is a mistake or an attack, not a query
KNOWN = ("q", "source", "tag", "campaign", "limit", "fulltext", "since", "after")


@dataclass(frozen=True)
class Filters:
    q: str | None = None
    source: str | None = None
    tag: str | None = None
    tag_sources: tuple[str, ...] | None = None
    campaign: str | None = None
    since: datetime | None = None
    limit: int = 50
    fulltext: bool = False
    after: int | None = None

    def feed_query(self) -> FeedQuery:
        return FeedQuery(
            limit=self.limit,
            q=self.q,
            source=self.source,
            tag_sources=self.tag_sources,
            campaign=self.campaign,
            fulltext=self.fulltext,
        )

    @property
    def source_ids(self) -> list[str] | None:
        """The sources both ``source`` and ``tag`` allow (None: every source)."""
        return source_scope(None, self.feed_query())


def whole_number(value: str | None) -> int | None:
    """``value`` as a non-negative id-sized integer, or None: ASCII digits only (str.isdigit and int()
    accept "²", "٣" and " 5"), at most MAX_ID."""
    if value is None or not _ASCII_DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if number <= MAX_ID else None


def _short(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


def parse_filters(
    params: Mapping[str, str],
    catalog: SourceCatalog,
    campaign_exists: Callable[[str], bool],
    *,
    default_limit: int = 50,
) -> Filters:
    """Checked filters; raises :class:`FilterError` naming the first bad parameter."""
    for name in KNOWN:
        value = params.get(name, "")
        if len(value) > MAX_PARAMETER or "\x00" in value:
            raise FilterError(f"{name}: at most {MAX_PARAMETER} characters, no NUL")
    raw_limit = params.get("limit")
    limit = default_limit
    if raw_limit is not None:
        limit = whole_number(raw_limit) or -1  # a bad value is reported below as given
        if not 1 <= limit <= MAX_LIMIT:
            raise FilterError(f"limit: expected a whole number from 1 to {MAX_LIMIT}, got {_short(raw_limit)}")
    source = params.get("source") or None
    if source is not None and source not in {s.id for s in catalog.sources}:
        raise FilterError(f"source: no configured source {_short(source)} (see /sources)")
    tag = params.get("tag") or None
    tag_sources = None
    if tag is not None:
        known_tags = tags(catalog)
        if tag not in known_tags:
            raise FilterError(f"tag: no source has the tag {_short(tag)} (see /feeds)")
        tag_sources = known_tags[tag]
    campaign = params.get("campaign") or None
    if campaign is not None and not campaign_exists(campaign):
        raise FilterError(f"campaign: no campaign or formulation {_short(campaign)} has been seen (see /campaigns)")
    since = None
    if raw_since := params.get("since"):
        try:
            parsed = datetime.fromisoformat(raw_since) if "T" in raw_since else date.fromisoformat(raw_since)
        except ValueError:
            raise FilterError(f"since: expected a date such as 2026-11-01, got {_short(raw_since)}") from None
        if not isinstance(parsed, datetime):
            parsed = datetime(parsed.year, parsed.month, parsed.day)
        since = parsed if parsed.tzinfo else parsed.replace(tzinfo=BEIJING)
        try:  # 0001-01-01T00:00+14:00 is before the first representable UTC instant
            since.astimezone(UTC)
        except OverflowError:
            raise FilterError(f"since: {_short(raw_since)} is outside the dates that can be stored") from None
    after = None
    if raw_after := params.get("after"):
        after = whole_number(raw_after)
        if after is None:
            raise FilterError(f"after: expected the id that ended the previous page, got {_short(raw_after)}")
    q = params.get("q") or None
    if q is not None:
        try:  # the search language of storage.search_terms: checked here, one line when it cannot run
            searched = parse_query(q)
        except QueryError as exc:
            raise FilterError(f"q: {exc}") from None
        unknown = [t for t in searched.tags if t not in tags(catalog)]
        if unknown:
            raise FilterError(f"q: tag:{_short(unknown[0])}: no source has this tag (see /feeds)")
    return Filters(
        q=q,
        source=source,
        tag=tag,
        tag_sources=tag_sources,
        campaign=campaign,
        since=since,
        limit=limit,
        fulltext=params.get("fulltext") in ("1", "true", "yes"),
        after=after,
    )
