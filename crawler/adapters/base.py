"""The adapter interface: list pages to links, article pages to fields.

An adapter reads like a Scrapy spider: class attributes say what its site's URLs look like, and
two methods (:meth:`Adapter.parse_list`, :meth:`Adapter.parse_article`) may be overridden where a
site needs more. Fetching, storing and scheduling are never an adapter's business.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from crawler.config import Source
from crawler.extract import ExtractedArticle, extract_article
from crawler.html_tree import parse_html
from crawler.listing import (
    CONTENT_ARTICLE,
    DATED_ARTICLE,
    HANWEB_ARTICLE,
    TRS_ARTICLE,
    ListedLink,
    extract_links,
    next_pages,
)

registry: dict[str, type[Adapter]] = {}

A = TypeVar("A", bound="type[Adapter]")


def register(name: str) -> Callable[[A], A]:
    """Class decorator: make an adapter available under ``name`` in sources.yaml."""

    def decorate(cls: A) -> A:
        if name in registry and registry[name] is not cls:
            raise ValueError(f"adapter name {name!r} is already registered by {registry[name].__qualname__}")
        cls.name = name
        registry[name] = cls
        return cls

    return decorate


@dataclass(frozen=True)
class ListPage:
    links: list[ListedLink]
    next_pages: list[str]


class Adapter:
    """Generic behaviour for CMS-driven portals; subclasses narrow it with a few declarations."""

    name: ClassVar[str] = ""
    #: URL path shapes of article pages on list pages (ignored when the source sets selectors.links).
    article_patterns: ClassVar[tuple[re.Pattern[str], ...]] = (
        TRS_ARTICLE,
        HANWEB_ARTICLE,
        CONTENT_ARTICLE,
        DATED_ARTICLE,
    )

    def __init__(self, source: Source):
        self.source = source

    def parse_list(self, html: str, url: str, *, backfill: int = 0) -> ListPage:
        """Article links on one list page, and up to ``backfill`` further list pages."""
        tree = parse_html(html)  # once, for the links and the pager
        links = extract_links(
            html, url, patterns=self.article_patterns, selector=self.source.selectors.links, container=tree
        )
        return ListPage(links=links, next_pages=next_pages(html, url, backfill, container=tree))

    def parse_article(self, html: str | bytes, url: str, *, encoding: str | None = None) -> ExtractedArticle:
        """Fields of one article page."""
        return extract_article(html, url, selectors=self.source.selectors, encoding=encoding)
