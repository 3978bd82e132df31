"""Campaign queries: first mention overall, first mention per source, mentions per version."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from storage.base import Repository, writes
from storage.emerging import EMERGING_MIN_SOURCES
from storage.models import (
    Article,
    Campaign,
    CampaignMention,
    CampaignSource,
)


@dataclass(frozen=True)
class CampaignSpread:
    campaign: Campaign
    first_article: Article | None
    sources: list[tuple[CampaignSource, Article | None]]  # first mention per source, in time order


@dataclass(frozen=True)
class EmergingCampaign:
    """A name first seen recently and already taken up by several sources."""

    campaign: Campaign
    articles: int
    sources: list[tuple[CampaignSource, Article | None]]  # first mention per source, in time order


CAMPAIGN_STATUSES = ("accepted", "muted")


class CampaignRepository(Repository):
    """Campaigns: names, first mentions, spread across sources; the user's accept/mute decisions.
    (Mentions are written with their versions, by :mod:`storage.writer`.)"""

    def campaigns(
        self,
        *,
        new_since: datetime | None = None,
        source_id: str | None = None,
        new_only: bool = False,
        limit: int = 500,
    ) -> list[tuple[Campaign, int]]:
        """Campaigns with their number of mentioning articles, first seen most recently first.
        ``new_since`` (or ``new_only``) leaves out baseline names: those were known, not new."""
        from sqlalchemy import func

        if source_id is None:  # the count the writer keeps
            statement = select(Campaign, Campaign.articles).where(Campaign.articles > 0)
        else:
            mentions = (
                select(CampaignMention.campaign_id, func.count(func.distinct(CampaignMention.article_id)).label("n"))
                .where(CampaignMention.source_id == source_id)
                .group_by(col(CampaignMention.campaign_id))
            ).subquery()
            statement = select(Campaign, mentions.c.n).join(mentions, mentions.c.campaign_id == Campaign.id)
        if new_since is not None:
            statement = statement.where(Campaign.first_seen_at >= new_since)
        if new_since is not None or new_only:
            statement = statement.where(col(Campaign.baseline).is_(False))
        statement = statement.order_by(col(Campaign.first_seen_at).desc(), col(Campaign.id).desc()).limit(limit)
        with Session(self.read_engine, expire_on_commit=False) as session:
            return [(campaign, n) for campaign, n in session.exec(statement).all()]

    def campaign_spread(self, name: str) -> CampaignSpread | None:
        with Session(self.read_engine, expire_on_commit=False) as session:
            campaign = session.exec(select(Campaign).where(Campaign.name == name)).first()
            if campaign is None:
                return None
            rows = session.exec(
                select(CampaignSource, Article)
                .join(Article, col(Article.id) == CampaignSource.article_id)
                .where(CampaignSource.campaign_id == campaign.id)
                .order_by(col(CampaignSource.first_seen_at), col(CampaignSource.source_id))
            ).all()
            return CampaignSpread(campaign, session.get(Article, campaign.first_article_id), list(rows))

    def mentions_for_versions(self, version_ids: Sequence[int]) -> dict[int, list[tuple[Campaign, CampaignMention]]]:
        """Campaigns mentioned by each version, for highlighting in feeds."""
        if not version_ids:
            return {}
        out: dict[int, list[tuple[Campaign, CampaignMention]]] = {}
        with Session(self.read_engine, expire_on_commit=False) as session:
            rows = session.exec(
                select(Campaign, CampaignMention)
                .join(CampaignMention, col(CampaignMention.campaign_id) == Campaign.id)
                .where(col(CampaignMention.version_id).in_(list(version_ids)))
            ).all()
            for campaign, mention in rows:
                out.setdefault(mention.version_id, []).append((campaign, mention))
        return out

    def emerging(
        self,
        *,
        since: datetime,
        min_sources: int = EMERGING_MIN_SOURCES,
        exclude: Collection[str] = (),
        limit: int = 100,
    ) -> list[EmergingCampaign]:
        """Names first seen by procwatch (not at the first crawl) on or after ``since``, mentioned by at
        least ``min_sources`` sources, neither accepted nor muted, not in ``exclude`` (the lexicon);
        the most widely taken up first."""
        from sqlalchemy import func

        spread = (
            select(CampaignSource.campaign_id, func.count().label("sources"))
            .group_by(col(CampaignSource.campaign_id))
            .having(func.count() >= min_sources)
            .subquery()
        )
        articles = (
            select(CampaignMention.campaign_id, func.count(func.distinct(CampaignMention.article_id)).label("n"))
            .group_by(col(CampaignMention.campaign_id))
            .subquery()
        )
        statement = (
            select(Campaign, articles.c.n)
            .join(spread, spread.c.campaign_id == Campaign.id)
            .join(articles, articles.c.campaign_id == Campaign.id)
            .where(Campaign.first_seen_at >= since, col(Campaign.status).is_(None), col(Campaign.baseline).is_(False))
            .order_by(spread.c.sources.desc(), col(Campaign.first_seen_at).desc(), col(Campaign.id))
        )
        with Session(self.read_engine, expire_on_commit=False) as session:
            rows = [(c, n) for c, n in session.exec(statement).all() if c.name not in exclude][:limit]
            ids = [c.id for c, _ in rows]
            by_campaign: dict[int, list[tuple[CampaignSource, Article | None]]] = {}
            for row, article in session.exec(
                select(CampaignSource, Article)
                .join(Article, col(Article.id) == CampaignSource.article_id, isouter=True)
                .where(col(CampaignSource.campaign_id).in_(ids))
                .order_by(col(CampaignSource.first_seen_at), col(CampaignSource.source_id))
            ).all():
                by_campaign.setdefault(row.campaign_id, []).append((row, article))
        return [EmergingCampaign(c, n, by_campaign.get(c.id or 0, [])) for c, n in rows]

    @writes
    def set_campaign_status(self, name: str, status: str | None) -> Campaign | None:
        """Accept or mute a name (None reopens it); None when no campaign has that name."""
        if status is not None and status not in CAMPAIGN_STATUSES:
            raise ValueError(f"status must be one of {', '.join(CAMPAIGN_STATUSES)}, got {status!r}")

        with self.transaction() as session:
            campaign = session.exec(select(Campaign).where(Campaign.name == name)).first()
            if campaign is not None:
                campaign.status = status
                session.add(campaign)
            return campaign
