"""Which feeds exist: all, campaigns, changes, one per source, one per tag (region, kind, level, tags)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

TOP_FEEDS = ("all", "campaigns", "emerging", "changes")


@dataclass(frozen=True)
class FeedSpec:
    """One feed: ``path`` is its name without extension (``all``, ``sources/spp``, ``tags/四川``)."""

    path: str
    title: str
    kind: str  # articles | changes | campaigns | emerging
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
    specs = [
        FeedSpec("all", "procwatch: 全部来源的新文章与修改", "articles"),
        FeedSpec("campaigns", "procwatch: 新出现的运动与提法", "campaigns"),
        FeedSpec("emerging", "procwatch: 正在兴起的运动与提法(多个来源新近提到,尚未收录)", "emerging"),
        FeedSpec("changes", "procwatch: 修改、删除与恢复", "changes"),
    ]
    specs += [FeedSpec(f"sources/{s.id}", f"procwatch: {s.name}", "articles", (s.id,)) for s in config.sources]
    specs += [FeedSpec(f"tags/{tag}", f"procwatch: {tag}", "articles", ids) for tag, ids in tags(config).items()]
    return specs


def find(config: SourceCatalog, path: str) -> FeedSpec | None:
    return next((spec for spec in catalog(config) if spec.path == path), None)
