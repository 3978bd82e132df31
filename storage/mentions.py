"""What a batch's campaign mentions change: a campaign's first mention, its first per source, a row per version.

Pure, like :mod:`storage.decide`: the writer loads the stored campaigns and applies what these
functions say. Novelty is dated by when a version was observed (``seen_at``), the origin article by
its publication (``published_at``): a backfilled older article moves the origin, never the date the
name was first seen. Mentions of a source's first crawl, or of a backfill, are baseline: known at
start, never announced as new.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from storage.kinds import CampaignKind


class FoundMention(Protocol):
    """A campaign name found in a page, as the crawler's extractor reports it."""

    name: str
    kind: CampaignKind
    count: int
    contexts: list[str]


class _Ref(Protocol):
    @property
    def known_id(self) -> int: ...


class _VersionRef(Protocol):
    id: int | None


@dataclass(frozen=True)
class Sighting:
    """One campaign name in one recorded page."""

    name: str
    kind: str
    article: _Ref  # the article the page is (or is a copy of)
    version: _VersionRef | None  # None for a copy: the source picked the name up, no mention row of its own
    source_id: str
    count: int
    context: str
    published_at: datetime
    seen_at: datetime  # when the version carrying it was recorded
    baseline: bool


def sightings_of(
    mentions: Collection[FoundMention],
    *,
    article: _Ref,
    version: _VersionRef | None,
    source_id: str,
    published_at: datetime,
    seen_at: datetime,
    baseline: bool,
) -> list[Sighting]:
    # one fixed order for every writer: transactions creating overlapping campaigns cannot deadlock
    return [
        Sighting(
            m.name,
            str(m.kind),
            article,
            version,
            source_id,
            m.count,
            m.contexts[0] if m.contexts else "",
            published_at,
            seen_at,
            baseline,
        )
        for m in sorted(mentions, key=lambda m: m.name)
    ]


@dataclass(frozen=True)
class Firsts:
    """Of the sightings of one campaign (overall, or in one source): the origin and the first observed."""

    origin: Sighting  # the earliest published
    observed: Sighting  # the earliest seen


@dataclass(frozen=True)
class Stored:
    """A stored campaign's (or campaign-in-a-source's) first dates."""

    first_published_at: datetime | None
    first_seen_at: datetime


K = TypeVar("K", bound=Hashable)


def firsts(sightings: Collection[Sighting], key: Callable[[Sighting], K]) -> dict[K, Firsts]:
    """The origin and first observation per key, earliest first in the batch's order on ties."""
    origin: dict[K, Sighting] = {}
    observed: dict[K, Sighting] = {}
    for s in sightings:
        k = key(s)
        if k not in origin or s.published_at < origin[k].published_at:
            origin[k] = s
        if k not in observed or s.seen_at < observed[k].seen_at:
            observed[k] = s
    return {k: Firsts(origin[k], observed[k]) for k in origin}


def moves_origin(published_at: datetime, known: datetime | None) -> bool:
    """An article published before the known origin (or none known) becomes the origin."""
    return known is None or published_at < known


def new_campaign(f: Firsts) -> dict[str, Any]:
    """The row of a campaign never seen before."""
    return {
        "name": f.origin.name,
        "kind": f.origin.kind,
        "first_seen_at": f.observed.seen_at,
        "first_published_at": f.origin.published_at,
        "baseline": f.observed.baseline,
        "first_article_id": f.origin.article.known_id,
        "first_source_id": f.origin.source_id,
        "first_context": f.origin.context,
    }


def campaign_changes(f: Firsts, stored: Stored) -> dict[str, Any]:
    """What a stored campaign's row takes from this batch (nothing, most of the time)."""
    changes: dict[str, Any] = {}
    if moves_origin(f.origin.published_at, stored.first_published_at):
        o = f.origin
        changes |= {
            "first_published_at": o.published_at,
            "first_article_id": o.article.known_id,
            "first_source_id": o.source_id,
            "first_context": o.context,
        }
    if f.observed.seen_at < stored.first_seen_at:  # another writer's later observation was stored first
        changes |= {"first_seen_at": f.observed.seen_at, "baseline": f.observed.baseline}
    return changes


def new_campaign_source(campaign_id: int, f: Firsts) -> dict[str, Any]:
    """The row of a source's first mention of a campaign."""
    return {
        "campaign_id": campaign_id,
        "source_id": f.origin.source_id,
        "first_seen_at": f.observed.seen_at,
        "first_published_at": f.origin.published_at,
        "baseline": f.observed.baseline,
        "article_id": f.origin.article.known_id,
        "context": f.origin.context,
    }


def campaign_source_changes(f: Firsts, stored: Stored) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if moves_origin(f.origin.published_at, stored.first_published_at):
        o = f.origin
        changes |= {"first_published_at": o.published_at, "article_id": o.article.known_id, "context": o.context}
    if f.observed.seen_at < stored.first_seen_at:
        changes |= {"first_seen_at": f.observed.seen_at, "baseline": f.observed.baseline}
    return changes


def mention_row(campaign_id: int, s: Sighting) -> dict[str, Any] | None:
    """A version's mention row; None for a copy (it has no version of its own)."""
    if s.version is None:
        return None
    assert s.version.id is not None, "versions are inserted before their mentions"
    return {
        "campaign_id": campaign_id,
        "version_id": s.version.id,
        "article_id": s.article.known_id,
        "source_id": s.source_id,
        "count": s.count,
        "context": s.context,
        "seen_at": s.published_at,
    }
