"""Which feeds exist: one per feed kind, one per source, one per tag (region, kind, level, tags).

Feed kinds are a registry: a kind is one builder function and one line, ``@feed_kind(name, path,
title)`` on it (one module each in feeds.kinds). Its feed then exists at ``path``, in the static
build, the server, the OPML and the index, with nothing else to change.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from feeds.items import FeedItem, FeedQuery
    from storage import Store

#: a feed kind's items, newest first: (store, catalog, query, the sources in scope or None for all)
Builder = Callable[["Store", "SourceCatalog", "FeedQuery", "list[str] | None"], "list[FeedItem]"]


@dataclass(frozen=True)
class FeedKind:
    name: str
    build: Builder
    path: str | None  # the kind's own feed across sources (None: only scoped feeds, if any)
    title: str | None
    position: int  # where its feed is listed (OPML, index): lowest first


#: every feed kind by name; ``position`` orders their feeds in the OPML and the index
KINDS: dict[str, FeedKind] = {}
_loaded = False


def feed_kind(
    name: str, *, path: str | None = None, title: str | None = None, position: int = 100
) -> Callable[[Builder], Builder]:
    """Register a builder as the feed kind ``name``; ``path`` and ``title``: its feed across all sources."""

    def register(build: Builder) -> Builder:
        KINDS[name] = FeedKind(name, build, path, title, position)
        return build

    return register


def kinds() -> dict[str, FeedKind]:
    """The registered kinds, the built-in ones included."""
    global _loaded
    if not _loaded:  # every module of feeds.kinds registers itself as it is imported
        import importlib
        import pkgutil

        import feeds.kinds

        for module in pkgutil.iter_modules(feeds.kinds.__path__):
            importlib.import_module(f"feeds.kinds.{module.name}")
        _loaded = True
    return KINDS


@dataclass(frozen=True)
class FeedSpec:
    """One feed: ``path`` is its name without extension (``all``, ``sources/spp``, ``tags/四川``)."""

    path: str
    title: str
    kind: str  # a registered feed kind (KINDS): articles, changes, campaigns, emerging ...
    source_ids: tuple[str, ...] | None = None  # None: every source


class SourceInfo(Protocol):
    """A configured source as the feeds see it (crawler.config.Source is one)."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def all_tags(self) -> list[str]: ...


@dataclass(frozen=True)
class SourceCatalog:
    """What the feeds know of the configuration: the sources, and the campaign names already in a
    lexicon (which the emerging feed leaves out). The runtime builds it; feeds never read sources.yaml."""

    sources: Sequence[SourceInfo]
    known_campaigns: Collection[str] = ()


def tags(config: SourceCatalog) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for source in config.sources:
        for tag in source.all_tags:
            out.setdefault(tag, []).append(source.id)
    return {tag: tuple(ids) for tag, ids in sorted(out.items())}


def catalog(config: SourceCatalog) -> list[FeedSpec]:
    top = sorted((k for k in kinds().values() if k.path is not None), key=lambda k: k.position)
    specs = [FeedSpec(k.path, k.title or k.path, k.name) for k in top if k.path is not None]
    specs += [FeedSpec(f"sources/{s.id}", f"procwatch: {s.name}", "articles", (s.id,)) for s in config.sources]
    specs += [FeedSpec(f"tags/{tag}", f"procwatch: {tag}", "articles", ids) for tag, ids in tags(config).items()]
    return specs


def find(config: SourceCatalog, path: str) -> FeedSpec | None:
    return next((spec for spec in catalog(config) if spec.path == path), None)
