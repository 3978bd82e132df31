"""Reading the archive: articles, their versions, events, and what is due a re-check."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import and_, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, SQLModel, col, select

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

    def current_versions(self, article_ids: Sequence[int]) -> dict[int, ArticleVersion]:
        """The live version of each article, in one query."""
        if not article_ids:
            return {}
        statement = (
            select(ArticleVersion)
            .join(Article, col(Article.id) == ArticleVersion.article_id)
            .where(col(Article.id).in_(list(article_ids)), ArticleVersion.version == Article.current_version)
        )
        with Session(self.read_engine, expire_on_commit=False) as session:
            return {v.article_id: v for v in session.exec(statement).all()}

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
        statement = select(Event, Article).join(Article, col(Article.id) == Event.article_id)
        if source_ids is not None:
            statement = statement.where(col(Article.source_id).in_(list(source_ids)))
        if article_ids is not None:  # e.g. the articles a search found
            statement = statement.where(col(Event.article_id).in_(list(article_ids)))
        if since is not None:
            statement = statement.where(Event.at >= since)
        if kinds is not None:
            statement = statement.where(col(Event.kind).in_([str(k) for k in kinds]))
        if reported_only:
            statement = statement.where(col(Event.reported).is_(True))
        statement = statement.order_by(col(Event.at).desc(), col(Event.id).desc()).limit(limit)
        with Session(self.read_engine, expire_on_commit=False) as session:
            return [(event, article) for event, article in session.exec(statement).all()]

    def versions_by_id(self, version_ids: Sequence[int]) -> dict[int, ArticleVersion]:
        return self._rows_by_id(ArticleVersion, version_ids)

    def articles_by_id(self, article_ids: Sequence[int]) -> dict[int, Article]:
        return self._rows_by_id(Article, article_ids)

    def _rows_by_id(self, model: type[R], ids: Sequence[int]) -> dict[int, R]:
        if not ids:
            return {}
        with Session(self.read_engine, expire_on_commit=False) as session:
            rows = session.exec(select(model).where(col(model.id).in_(list(ids)))).all()  # type: ignore[attr-defined]
            return {row.id: row for row in rows}  # type: ignore[attr-defined]

    def previous_versions(self, version_ids: Sequence[int]) -> dict[int, ArticleVersion]:
        """For each version id, the version before it (of the same article), in one query."""
        if not version_ids:
            return {}
        newer = aliased(ArticleVersion)
        statement = (
            select(newer.id, ArticleVersion)
            .join(
                ArticleVersion,
                and_(
                    col(ArticleVersion.article_id) == newer.article_id, col(ArticleVersion.version) == newer.version - 1
                ),
            )
            .where(col(newer.id).in_(list(version_ids)))
        )
        with Session(self.read_engine, expire_on_commit=False) as session:
            return {newer_id: older for newer_id, older in session.exec(statement).all()}

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
