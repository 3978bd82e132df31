"""Full-text search over every version of every article (the index: storage.search_terms).

Results are articles, newest match first, keyset-paged: each article appears once, on the page of its
newest matching version, with the versions that match, so text an edit removed is found in the
versions that had it ("appears in versions 1-2", the current one not among them).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select
from sqlmodel import Session, col
from sqlmodel import select as model_select

from storage.backends import backend
from storage.base import Repository
from storage.models import Article, ArticleVersion
from storage.search_terms import Query, QueryError, matches_text, parse, snippet
from storage.tables import ARTICLE, VERSION

SCAN = 4  # index rows read per wanted article: several versions of one article often match together


@dataclass(frozen=True)
class SearchHit:
    article: Article
    version: ArticleVersion  # the newest version that matches
    matching: list[int]  # version numbers that match, oldest first
    snippet: tuple[str, str, str] | None  # (before, found, after) in that version's text
    cursor: int  # pass as ``before`` to continue after this hit

    @property
    def current(self) -> bool:
        """Whether the version live now matches (False: an edit removed the text)."""
        return self.article.current_version in self.matching

    @property
    def versions_label(self) -> str:
        """ "version 2", "versions 1-3", "versions 1, 3"."""
        numbers = self.matching
        if len(numbers) == 1:
            return f"version {numbers[0]}"
        if numbers == list(range(numbers[0], numbers[-1] + 1)):
            return f"versions {numbers[0]}-{numbers[-1]}"
        return "versions " + ", ".join(map(str, numbers))


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    next_cursor: int | None  # None: the last page


class SearchQueries(Repository):
    """The search part of :class:`storage.Store` (read-only)."""

    def search(
        self,
        query: str | Query,
        *,
        limit: int = 20,
        before: int | None = None,
        source_ids: Collection[str] | None = None,
        tags: Mapping[str, Collection[str]] | None = None,
    ) -> SearchPage:
        """Articles matching ``query`` (the query language of storage.search_terms), newest match first.

        ``source_ids`` narrows to those sources (None: all); ``tags`` maps each tag to its sources, for
        ``tag:`` filters. Raises QueryError (one line) for a query that cannot be run."""
        parsed = parse(query) if isinstance(query, str) else query
        scope = None if source_ids is None else set(source_ids)
        for name in parsed.sources:
            scope = {name} if scope is None else scope & {name}
        for tag in parsed.tags:
            if tags is None or tag not in tags:
                raise QueryError(f"tag:{tag}: no source has this tag")
            scope = set(tags[tag]) if scope is None else scope & set(tags[tag])
        if scope is not None and not scope:
            return SearchPage([], None)
        with self.read_engine.connect() as connection:
            index, key, in_index = backend(self.engine).search_source(connection, parsed)
            conditions: list[Any] = [in_index]
            if scope is not None:
                conditions.append(ARTICLE.c.source_id.in_(sorted(scope)))
            dated = func.coalesce(VERSION.c.published_at, VERSION.c.fetched_at)
            if parsed.since is not None:
                conditions.append(dated >= parsed.since)
            if parsed.until is not None:
                conditions.append(dated <= parsed.until)
            joined = index.join(VERSION, VERSION.c.id == key).join(ARTICLE, ARTICLE.c.id == VERSION.c.article_id)
            newest: dict[int, int] = {}  # article id -> its newest matching version id below ``before``
            every: dict[int, list[int]] = {}  # article id -> all its matching version ids
            fresh: list[int] = []  # articles for this page, newest match first
            cursor, exhausted = before, False
            while len(fresh) <= limit and not exhausted:
                page = select(key, VERSION.c.article_id).select_from(joined).where(*conditions)
                if cursor is not None:
                    page = page.where(key < cursor)
                rows = connection.execute(page.order_by(key.desc()).limit((limit + 1) * SCAN)).all()
                found = [a for a in dict.fromkeys(article for _, article in rows) if a not in newest]
                for version_id, article_id in rows:
                    newest.setdefault(article_id, version_id)
                if before is None:
                    fresh += found
                else:  # an article with a match at or after ``before`` was shown on an earlier page
                    self._matching_versions(connection, parsed, found, newest, every)
                    fresh += [a for a in found if max(every[a]) < before]
                exhausted = len(rows) < (limit + 1) * SCAN
                if rows:
                    cursor = rows[-1][0]
            chosen, more = fresh[:limit], len(fresh) > limit
            # the versions that match, for the articles shown only (a page reads four times as many)
            self._matching_versions(connection, parsed, [a for a in chosen if a not in every], newest, every)
        return SearchPage(self._hits(chosen, newest, every, parsed), newest[chosen[-1]] if more and chosen else None)

    @staticmethod
    def _matching_versions(
        connection: Connection, query: Query, articles: list[int], newest: dict[int, int], every: dict[int, list[int]]
    ) -> None:
        """Which versions of ``articles`` (a few each) match, asked of their texts: asking the index for
        every match of a common word and keeping these would read all of its matches, and asking it
        about just these versions (rowid IN) re-ran a phrase for each (27 -> 177 ms)."""
        if not articles:
            return
        own = select(VERSION.c.id, VERSION.c.article_id, VERSION.c.title, VERSION.c.body_text).where(
            VERSION.c.article_id.in_(articles)
        )
        for version_id, article_id, title, body in connection.execute(own):
            if version_id == newest[article_id] or matches_text(query, f"{title}\n{body}"):
                every.setdefault(article_id, []).append(version_id)

    def _hits(
        self, chosen: list[int], newest: dict[int, int], every: dict[int, list[int]], query: Query
    ) -> list[SearchHit]:
        if not chosen:
            return []
        version_ids = [v for a in chosen for v in every.get(a, [newest[a]])]
        with Session(self.read_engine, expire_on_commit=False) as session:
            articles = {a.id: a for a in session.exec(model_select(Article).where(col(Article.id).in_(chosen))).all()}
            versions = {
                v.id: v
                for v in session.exec(model_select(ArticleVersion).where(col(ArticleVersion.id).in_(version_ids))).all()
            }
        hits = []
        for article_id in chosen:
            version = versions[newest[article_id]]
            numbers = sorted(versions[v].version for v in every.get(article_id, [newest[article_id]]))
            shown = snippet(version.body_text, query) or snippet(version.title, query)
            hits.append(SearchHit(articles[article_id], version, numbers, shown, newest[article_id]))
        return hits
