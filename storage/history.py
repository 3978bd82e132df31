"""Reading the archive: articles, their versions, events, and what is due a re-check."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import BindParameter, Select, and_, bindparam, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select
from sqlmodel.sql.expression import Select as ModelSelect

from storage.base import Repository
from storage.clock import utcnow
from storage.models import (
    Article,
    ArticleStatus,
    ArticleVersion,
    Event,
    EventKind,
    Republication,
)
from storage.tables import ARTICLE, EVENT, VERSION

_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)


@dataclass(frozen=True, slots=True)
class VersionText:
    """A version's text and what is shown beside it, without its HTML: what a feed reads of a version,
    as plain rows (an ORM object costs more to build than the query takes)."""

    id: int
    article_id: int
    version: int
    title: str
    body_text: str
    author: str | None
    source_label: str | None
    fetched_at: datetime
    change_chars: int


@dataclass(frozen=True, slots=True)
class ArticleHead:
    """What a list shows of an article, as a plain row."""

    id: int
    url: str
    source_id: str
    title: str
    status: str
    published_at: datetime | None
    first_seen: datetime

    @classmethod
    def of(cls, article: Article) -> ArticleHead:
        return cls(
            article.id or 0,
            article.url,
            article.source_id,
            article.title,
            article.status,
            article.published_at,
            article.first_seen,
        )


ARTICLE_HEAD = (  # the columns of an ArticleHead, in order
    ARTICLE.c.id,
    ARTICLE.c.url,
    ARTICLE.c.source_id,
    ARTICLE.c.title,
    ARTICLE.c.status,
    ARTICLE.c.published_at,
    ARTICLE.c.first_seen,
)


@dataclass(frozen=True, slots=True)
class Change:
    """A reported edit, removal or restoration as a feed lists it: the event, and its article's head."""

    id: int
    kind: str
    at: datetime
    note: str | None
    version_id: int | None
    article: ArticleHead


_TEXT = (
    VERSION.c.id,
    VERSION.c.article_id,
    VERSION.c.version,
    VERSION.c.title,
    VERSION.c.body_text,
    VERSION.c.author,
    VERSION.c.source_label,
    VERSION.c.fetched_at,
    VERSION.c.change_chars,
)
# Statements the feeds run on every build, made once: building one (an alias above all) cost more
# than running it.
_CURRENT_TEXTS = (
    sa_select(*_TEXT)
    .join(ARTICLE, ARTICLE.c.id == VERSION.c.article_id)
    .where(ARTICLE.c.id.in_(_IDS), VERSION.c.version == ARTICLE.c.current_version)
)
_TEXTS_BY_ID = sa_select(*_TEXT).where(VERSION.c.id.in_(_IDS))
_NEWER = VERSION.alias("newer")
_PREVIOUS_TEXTS = (
    sa_select(_NEWER.c.id.label("newer_id"), *_TEXT)
    .join(_NEWER, and_(VERSION.c.article_id == _NEWER.c.article_id, VERSION.c.version == _NEWER.c.version - 1))
    .where(_NEWER.c.id.in_(_IDS))
)


def _events_query(
    since: datetime | None,
    kinds: Sequence[EventKind] | None,
    reported_only: bool,
    limit: int,
    source_ids: Sequence[str] | None,
    article_ids: Sequence[int] | None,
    *,
    rows: bool,
) -> tuple[Any, dict[str, Any]]:
    shape = _events(
        tuple(str(k) for k in kinds) if kinds is not None else None,
        reported_only,
        sources=source_ids is not None,
        articles=article_ids is not None,
        since=since is not None,
        rows=rows,
    )
    params = {"sources": list(source_ids or ()), "articles": list(article_ids or ())}
    return shape, params | {"since": since, "limit": limit}


@functools.cache
def _events(
    kinds: tuple[str, ...] | None, reported_only: bool, *, sources: bool, articles: bool, since: bool, rows: bool
) -> ModelSelect[Event, Article]:
    """The events statement of one shape; ``rows``: the columns of a :class:`Change`, not ORM objects."""
    if rows:
        e = EVENT.c
        columns = (e.id, e.kind, e.at, e.note, e.version_id, *ARTICLE_HEAD)
        statement = select(*columns).join(ARTICLE, ARTICLE.c.id == e.article_id)  # type: ignore[call-overload]
    else:
        statement = select(Event, Article).join(Article, col(Article.id) == Event.article_id)
    if sources:
        statement = statement.where(col(Article.source_id).in_(bindparam("sources", expanding=True)))
    if articles:  # e.g. the articles a search found
        statement = statement.where(col(Event.article_id).in_(bindparam("articles", expanding=True)))
    if since:
        statement = statement.where(Event.at >= bindparam("since"))
    if kinds is not None:
        statement = statement.where(col(Event.kind).in_(kinds))
    if reported_only:
        statement = statement.where(col(Event.reported).is_(True))
    return statement.order_by(col(Event.at).desc(), col(Event.id).desc()).limit(bindparam("limit"))


R = TypeVar("R", bound=SQLModel)


@dataclass(frozen=True)
class ArticleWithVersions:
    article: Article
    versions: list[ArticleVersion]


class HistoryQueries(Repository):
    """Read-only queries; each runs in a deferred transaction that never blocks the crawler."""

    def removed_urls(self, urls: Sequence[str]) -> set[str]:
        """Which of these URLs belong to articles recorded as removed."""
        with Session(self.read_engine) as session:
            return self._values_present(session, Article.url, urls, Article.status == ArticleStatus.removed)

    def get_article(self, url: str) -> ArticleWithVersions | None:
        with Session(self.read_engine, expire_on_commit=False) as session:
            article = session.exec(select(Article).where(Article.url == url)).first()
            if article is None:
                return None
            versions = session.exec(
                select(ArticleVersion)
                .where(ArticleVersion.article_id == article.id)
                .order_by(col(ArticleVersion.version))
            ).all()
            return ArticleWithVersions(article, list(versions))

    def current_versions(self, article_ids: Sequence[int]) -> dict[int, VersionText]:
        """The text of each article's live version, by article id, in one query."""
        return {t.article_id: t for t in self._texts(_CURRENT_TEXTS, article_ids)}

    def _texts(self, statement: Select[Any], ids: Sequence[int]) -> list[VersionText]:
        if not ids:
            return []
        with self.read_engine.connect() as connection:
            return [VersionText(*row) for row in connection.execute(statement, {"ids": list(ids)})]

    def articles_due(
        self,
        source_id: str | None,
        schedule: Sequence[tuple[timedelta, timedelta | None]],
        *,
        now: datetime | None = None,
        limit: int = 1000,
    ) -> list[Article]:
        """Live articles whose last check is older than their age band allows, most overdue first.

        ``schedule`` is a list of (maximum age, re-check interval) pairs, youngest first; an interval
        of None means articles of that age are no longer re-checked. Age counts from publication.
        """
        now = now or utcnow()
        conditions = []
        lower = timedelta(0)
        for max_age, interval in schedule:
            if interval is not None:
                conditions.append(
                    (col(Article.published_at) > now - max_age)
                    & (col(Article.published_at) <= now - lower)
                    & (col(Article.last_checked) <= now - interval)
                )
            lower = max_age
        if not conditions:
            return []
        # removed articles too: a page taken down and later put back is news (a restoration)
        statement = select(Article).where(or_(*conditions))
        if source_id is not None:
            statement = statement.where(Article.source_id == source_id)
        statement = statement.order_by(col(Article.last_checked)).limit(limit)
        with Session(self.read_engine, expire_on_commit=False) as session:
            return list(session.exec(statement).all())

    def stalest_articles(self, source_id: str, *, checked_before: datetime, limit: int) -> list[Article]:
        """A source's articles (live or removed, of any age) last checked before ``checked_before``,
        longest unchecked first: the re-check bound's queue."""
        statement = (
            select(Article)
            .where(Article.source_id == source_id)
            .where(or_(col(Article.last_checked).is_(None), col(Article.last_checked) <= checked_before))
            .order_by(col(Article.last_checked).asc().nulls_first())
            .limit(limit)
        )
        with Session(self.read_engine, expire_on_commit=False) as session:
            return list(session.exec(statement).all())

    def article_counts(self) -> dict[str, int]:
        """Stored articles per source."""
        statement = select(Article.source_id, func.count()).group_by(Article.source_id)
        with Session(self.read_engine) as session:
            return {source_id: count for source_id, count in session.exec(statement).all()}

    def events(
        self,
        *,
        since: datetime | None = None,
        kinds: Sequence[EventKind] | None = None,
        reported_only: bool = True,
        limit: int = 200,
        source_ids: Sequence[str] | None = None,
        article_ids: Sequence[int] | None = None,
    ) -> list[tuple[Event, Article]]:
        """Newest events first, each with its article."""
        shape, params = _events_query(since, kinds, reported_only, limit, source_ids, article_ids, rows=False)
        with Session(self.read_engine, expire_on_commit=False) as session:
            return [(event, article) for event, article in session.exec(shape, params=params).all()]

    def changes(
        self,
        kinds: Sequence[EventKind],
        *,
        limit: int,
        source_ids: Sequence[str] | None = None,
        article_ids: Sequence[int] | None = None,
    ) -> list[Change]:
        """:meth:`events` of these kinds, reported ones only, as plain rows (what a feed lists)."""
        shape, params = _events_query(None, kinds, True, limit, source_ids, article_ids, rows=True)
        with self.read_engine.connect() as connection:
            found = connection.execute(shape, params)
            return [Change(i, kind, at, note, v, ArticleHead(*head)) for i, kind, at, note, v, *head in found]

    def versions_by_id(self, version_ids: Sequence[int]) -> dict[int, VersionText]:
        """The text of versions, by id."""
        return {t.id: t for t in self._texts(_TEXTS_BY_ID, version_ids)}

    def articles_by_id(self, article_ids: Sequence[int]) -> dict[int, Article]:
        return self._rows_by_id(Article, article_ids)

    def _rows_by_id(self, model: type[R], ids: Sequence[int]) -> dict[int, R]:
        if not ids:
            return {}
        with Session(self.read_engine, expire_on_commit=False) as session:
            rows = session.exec(select(model).where(col(model.id).in_(list(ids)))).all()  # type: ignore[attr-defined]
            return {row.id: row for row in rows}  # type: ignore[attr-defined]

    def previous_versions(self, version_ids: Sequence[int]) -> dict[int, VersionText]:
        """For each version id, the text of the version before it (of the same article), in one query."""
        if not version_ids:
            return {}
        with self.read_engine.connect() as connection:
            rows = connection.execute(_PREVIOUS_TEXTS, {"ids": list(version_ids)})
            return {row[0]: VersionText(*(row[i] for i in range(1, len(row)))) for row in rows}

    def versions(self, article_id: int) -> list[ArticleVersion]:
        with Session(self.read_engine, expire_on_commit=False) as session:
            return list(
                session.exec(
                    select(ArticleVersion)
                    .where(ArticleVersion.article_id == article_id)
                    .order_by(col(ArticleVersion.version))
                ).all()
            )

    def republications(self, article_id: int) -> list[Republication]:
        with Session(self.read_engine, expire_on_commit=False) as session:
            return list(
                session.exec(
                    select(Republication)
                    .where(Republication.article_id == article_id)
                    .order_by(col(Republication.first_seen), col(Republication.id))
                ).all()
            )

    def current_hash(self, url: str) -> str | None:
        """The content hash of the article's current version, or None for a URL not stored."""
        with Session(self.read_engine) as session:
            return session.exec(select(Article.content_hash).where(Article.url == url)).first()

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        """Which of these URLs are already stored, as articles or as republications."""
        wanted = list(dict.fromkeys(urls))
        with Session(self.read_engine) as session:
            return self._values_present(session, Article.url, wanted) | self._values_present(
                session, Republication.url, wanted
            )
