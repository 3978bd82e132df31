"""Reads for people browsing the archive (the web view): search pages, per-source activity, an article's
whole history, a campaign's spread. Every query is bounded by an index and a limit, so a page costs the
same on a 1,000-article archive and on a 1,000,000-version one.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, func, tuple_
from sqlalchemy import select as sa_select
from sqlalchemy.sql import Select
from sqlmodel import Session, col, select

from storage.base import Repository
from storage.campaigns import CampaignRepository
from storage.clock import BEIJING
from storage.history import ARTICLE_HEAD, ArticleHead, HistoryQueries
from storage.models import (
    Article,
    ArticleVersion,
    Campaign,
    CampaignMention,
    CampaignSource,
    Event,
    Republication,
)
from storage.tables import ARTICLE, CAMPAIGN, MENTION


@functools.cache
def _listed(sources: bool, campaign: bool) -> Select[Any]:
    """The newest articles' heads, for some sources and one campaign (made once per shape)."""
    a = ARTICLE.c
    statement = sa_select(*ARTICLE_HEAD).where(a.original_id.is_(None))
    if sources:
        statement = statement.where(a.source_id.in_(bindparam("sources", expanding=True)))
    if campaign:
        mentioning = (
            sa_select(MENTION.c.article_id)
            .join(CAMPAIGN, CAMPAIGN.c.id == MENTION.c.campaign_id)
            .where(CAMPAIGN.c.name == bindparam("campaign"))
        )
        statement = statement.where(a.id.in_(mentioning))
    return statement.order_by(a.published_at.desc(), a.id.desc()).limit(bindparam("limit"))


@dataclass(frozen=True)
class ArticlePage:
    """One page of a search, newest first; ``next_cursor`` continues after its last row (None: the end)."""

    articles: list[Article]
    next_cursor: int | None


@dataclass(frozen=True)
class ArticleHistory:
    """Everything stored about one article."""

    article: Article
    versions: list[ArticleVersion]
    events: list[Event]
    republications: list[Republication]
    original: Article | None  # when this URL is itself a republication of another article
    mentions: dict[int, list[tuple[Campaign, CampaignMention]]]  # by version id


@dataclass(frozen=True)
class CampaignTimeline:
    campaign: Campaign
    articles: int
    sources: list[tuple[CampaignSource, Article | None]]  # first mention per source, in time order
    weeks: list[tuple[datetime, int]]  # (Monday 00:00 Beijing, articles mentioning it that week)


class BrowseQueries(Repository):
    """Read-only queries behind the web view, built on the history and campaign parts."""

    def __init__(self, engine: Engine, history: HistoryQueries, campaigns: CampaignRepository):
        super().__init__(engine)
        self._history, self._campaigns = history, campaigns

    def search_articles(
        self,
        *,
        limit: int = 50,
        after: int | None = None,
        source_ids: Sequence[str] | None = None,
        campaign: str | None = None,
        since: datetime | None = None,
    ) -> ArticlePage:
        """Articles newest first (by publication), keyset-paginated: ``after`` is the last article id of
        the previous page. Deep pages cost what the first one does (no OFFSET)."""
        statement = select(Article).where(col(Article.original_id).is_(None))
        if source_ids is not None:
            statement = statement.where(col(Article.source_id).in_(list(source_ids)))
        if campaign:
            mentioning = (
                select(CampaignMention.article_id)
                .join(Campaign, col(Campaign.id) == CampaignMention.campaign_id)
                .where(Campaign.name == campaign)
            )
            statement = statement.where(col(Article.id).in_(mentioning))
        if since is not None:
            statement = statement.where(col(Article.published_at) >= since)
        with Session(self.read_engine, expire_on_commit=False) as session:
            if after is not None:
                anchor = session.get(Article, after)
                if anchor is not None and anchor.published_at is not None:
                    statement = statement.where(
                        tuple_(col(Article.published_at), col(Article.id)) < tuple_(anchor.published_at, anchor.id)
                    )
            statement = statement.order_by(col(Article.published_at).desc(), col(Article.id).desc()).limit(limit + 1)
            rows = list(session.exec(statement).all())
        more = len(rows) > limit
        rows = rows[:limit]
        return ArticlePage(rows, rows[-1].id if more and rows else None)

    def latest_articles(
        self,
        limit: int = 50,
        *,
        source_ids: Sequence[str] | None = None,
        campaign: str | None = None,
    ) -> list[Article]:
        """Newest articles first (by publication date), optionally for some sources or one campaign.
        (Text is searched with store.search, over every version.)"""
        return self.search_articles(limit=limit, source_ids=source_ids, campaign=campaign).articles

    def latest_heads(
        self,
        limit: int = 50,
        *,
        source_ids: Sequence[str] | None = None,
        campaign: str | None = None,
    ) -> list[ArticleHead]:
        """:meth:`latest_articles` as plain rows (what a feed lists: an ORM object cost more to build
        than the query takes)."""
        statement = _listed(source_ids is not None, campaign is not None)
        params = {"sources": list(source_ids or ()), "campaign": campaign, "limit": limit}
        with self.read_engine.connect() as connection:
            return [ArticleHead(*row) for row in connection.execute(statement, params)]

    def articles_mentioning(self, name: str, article_ids: Sequence[int]) -> set[int]:
        """Which of these articles mention the campaign ``name`` in some version."""
        if not article_ids:
            return set()
        with Session(self.read_engine) as session:
            return set(
                session.exec(
                    select(CampaignMention.article_id)
                    .join(Campaign, col(Campaign.id) == CampaignMention.campaign_id)
                    .where(Campaign.name == name, col(CampaignMention.article_id).in_(list(article_ids)))
                ).all()
            )

    def has_campaign(self, name: str) -> bool:
        with Session(self.read_engine) as session:
            return session.exec(select(Campaign.id).where(Campaign.name == name)).first() is not None

    def count_found_since(self, since: datetime) -> int:
        """Articles procwatch first found since then, whatever their publication date (an article of
        2019 found today is news today)."""
        with Session(self.read_engine) as session:
            return session.exec(select(func.count()).select_from(Article).where(col(Article.first_seen) >= since)).one()

    def articles_per_source(self, source_id: str | None = None) -> dict[str, int]:
        """Articles stored per source (one source: an index range, not the whole table)."""
        statement = select(Article.source_id, func.count()).group_by(col(Article.source_id))
        if source_id is not None:
            statement = statement.where(Article.source_id == source_id)
        with Session(self.read_engine) as session:
            return {source: n for source, n in session.exec(statement).all()}

    def daily_counts(self, *, days: int, now: datetime, source_id: str | None = None) -> dict[str, list[int]]:
        """Articles published per Beijing calendar day over the last ``days`` days (oldest first), per source."""
        today = now.astimezone(BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
        start = today - timedelta(days=days - 1)
        statement = select(Article.source_id, Article.published_at).where(col(Article.published_at) >= start)
        if source_id is not None:
            statement = statement.where(Article.source_id == source_id)
        out: dict[str, list[int]] = {}
        with Session(self.read_engine) as session:
            for source, published in session.exec(statement).all():
                if published is None:
                    continue
                day = (published.astimezone(BEIJING).date() - start.date()).days
                if 0 <= day < days:
                    out.setdefault(source, [0] * days)[day] += 1
        return out

    def article_history(self, article_id: int) -> ArticleHistory | None:
        with Session(self.read_engine, expire_on_commit=False) as session:
            article = session.get(Article, article_id)
            if article is None:
                return None
            events = list(
                session.exec(
                    select(Event).where(Event.article_id == article_id).order_by(col(Event.at), col(Event.id))
                ).all()
            )
            original = session.get(Article, article.original_id) if article.original_id else None
            mentions: dict[int, list[tuple[Campaign, CampaignMention]]] = {}
            for campaign, mention in session.exec(
                select(Campaign, CampaignMention)
                .join(CampaignMention, col(CampaignMention.campaign_id) == Campaign.id)
                .where(CampaignMention.article_id == article_id)
            ).all():
                mentions.setdefault(mention.version_id, []).append((campaign, mention))
        return ArticleHistory(
            article,
            self._history.versions(article_id),
            events,
            self._history.republications(article_id),
            original,
            mentions,
        )

    def campaign_page(
        self, *, limit: int = 100, after: int | None = None, new_only: bool = False
    ) -> list[tuple[Campaign, int]]:
        """Campaigns first seen most recently first with their mentioning-article counts, counted for this
        page only; ``new_only`` leaves out those known at the first crawl (the overview's new campaigns)."""
        statement = select(Campaign)
        if new_only:
            statement = statement.where(col(Campaign.baseline).is_(False))
        with Session(self.read_engine, expire_on_commit=False) as session:
            if after is not None:
                anchor = session.get(Campaign, after)
                if anchor is not None:
                    statement = statement.where(
                        tuple_(col(Campaign.first_seen_at), col(Campaign.id)) < tuple_(anchor.first_seen_at, anchor.id)
                    )
            statement = statement.order_by(col(Campaign.first_seen_at).desc(), col(Campaign.id).desc()).limit(limit)
            campaigns = list(session.exec(statement).all())
            counts = dict(
                session.exec(
                    select(CampaignMention.campaign_id, func.count(func.distinct(CampaignMention.article_id)))
                    .where(col(CampaignMention.campaign_id).in_([c.id for c in campaigns]))
                    .group_by(col(CampaignMention.campaign_id))
                ).all()
            )
        return [(c, counts.get(c.id, 0)) for c in campaigns]

    def campaign_timeline(self, name: str) -> CampaignTimeline | None:
        """A campaign's first mention in each source, and articles mentioning it per week."""
        spread = self._campaigns.campaign_spread(name)
        if spread is None:
            return None
        with Session(self.read_engine) as session:
            # one row per mentioning article (its earliest mention): a re-fetched version is not news
            seen = session.exec(
                select(CampaignMention.article_id, func.min(CampaignMention.seen_at))
                .where(CampaignMention.campaign_id == spread.campaign.id)
                .group_by(col(CampaignMention.article_id))
            ).all()
        weeks: Counter[datetime] = Counter()
        for _, at in seen:
            local = at.astimezone(BEIJING)
            monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
            weeks[monday] += 1
        return CampaignTimeline(spread.campaign, len(seen), spread.sources, sorted(weeks.items()))
