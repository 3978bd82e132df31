"""Campaign storage: first mention overall, first mention per source, mentions per version."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session, SQLModel, col, select

from storage.base import Repository
from storage.clock import utcnow
from storage.emerging import EMERGING_MIN_SOURCES
from storage.models import (
    Article,
    Campaign,
    CampaignKind,
    CampaignMention,
    CampaignSource,
    SourceState,
    fit_to_column,
)
from storage.retry import in_retried_transaction


class FoundMention(Protocol):
    name: str
    kind: CampaignKind
    count: int
    contexts: list[str]


@dataclass(frozen=True)
class RecordedCampaign:
    name: str
    kind: CampaignKind
    new_overall: bool  # never seen anywhere before
    new_for_source: bool  # first time this source mentions it


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


def baseline_sources(connection: Any, source_ids: Collection[str]) -> set[str]:
    """The sources whose mentions are baseline (known at start, never announced as new): those with no
    successful crawl yet, i.e. being crawled for the first time. One rule for both write paths."""
    from sqlalchemy import select as core_select

    table = SourceState.__table__  # type: ignore[attr-defined]
    wanted = sorted(set(source_ids))
    succeeded = {
        row[0]
        for row in connection.execute(
            core_select(table.c.source_id).where(table.c.source_id.in_(wanted), table.c.last_success.is_not(None))
        )
    }
    return {source_id for source_id in wanted if source_id not in succeeded}


def _insert_if_absent(session: Session, model: type[SQLModel], keys: list[str], **values: Any) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING (SQLite and PostgreSQL); True if this call inserted the row.
    A concurrent writer's insert of the same key is waited for, never an error."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = model.__table__  # type: ignore[attr-defined]
    values = {column.key: fit_to_column(column, values[column.key]) for column in table.columns if column.key in values}
    statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
    session.flush()  # objects added earlier in this transaction go first
    # RETURNING gives a row only when this statement inserted one (both databases)
    return session.execute(statement.returning(table.c[keys[0]])).first() is not None


def moves_origin(published_at: datetime, known: datetime | None) -> bool:
    """An article published before the known origin (or none known) becomes the origin."""
    return known is None or published_at < known


class CampaignRepository(Repository):
    """Campaigns: names, first mentions, spread across sources, the user's accept/mute decisions."""

    def record_mentions(
        self,
        *,
        article_id: int,
        version_id: int | None,
        source_id: str,
        mentions: Sequence[FoundMention],
        published_at: datetime,
        seen_at: datetime | None = None,
        baseline: bool = False,
    ) -> list[RecordedCampaign]:
        """Store one version's mentions in one transaction; idempotent per (campaign, version).

        ``version_id`` is None for a republication: the source's first mention is recorded (it picked
        the campaign up) against the original article, with no mention row of its own. ``seen_at`` is
        when the version was observed (now by default); ``baseline`` marks a backfill's mentions.
        """
        observed = seen_at or utcnow()

        def attempt() -> list[RecordedCampaign]:
            with self.transaction() as session:
                return self._add_mentions(
                    session, article_id, version_id, source_id, mentions, published_at, observed, baseline=baseline
                )

        # Another worker may have created the same campaign a moment ago; the next attempt finds it.
        return in_retried_transaction(attempt)

    @staticmethod
    def _add_mentions(
        session: Session,
        article_id: int,
        version_id: int | None,
        source_id: str,
        mentions: Sequence[FoundMention],
        published_at: datetime,
        seen_at: datetime,
        *,
        baseline: bool = False,
    ) -> list[RecordedCampaign]:
        """Mentions written in the caller's transaction, so an article and its campaigns commit together.

        Novelty is dated by ``seen_at`` (when the version was recorded), the origin article by
        ``published_at``; mentions of a source's first crawl (or ``baseline``) are known, not new."""
        if not mentions:
            return []
        baseline = baseline or bool(baseline_sources(session.connection(), [source_id]))
        out = []
        # One fixed order for every writer: two transactions creating overlapping campaigns cannot deadlock.
        for mention in sorted(mentions, key=lambda m: m.name):
            context = mention.contexts[0] if mention.contexts else ""
            # Insert-or-nothing, not select-then-insert: two workers finding the same new name at once
            # made one of them fail its whole article on the unique name (seen in a two-worker run).
            new_overall = _insert_if_absent(
                session,
                Campaign,
                ["name"],
                name=mention.name,
                kind=str(mention.kind),
                first_seen_at=seen_at,
                first_published_at=published_at,
                baseline=baseline,
                first_article_id=article_id,
                first_source_id=source_id,
                first_context=context,
            )
            campaign = session.exec(select(Campaign).where(Campaign.name == mention.name)).one()
            if not new_overall and moves_origin(published_at, campaign.first_published_at):
                # a backfilled older article moves the origin, never the date it was first seen
                campaign.first_published_at, campaign.first_article_id = published_at, article_id
                campaign.first_source_id, campaign.first_context = source_id, context
                session.add(campaign)
            if not new_overall and seen_at < campaign.first_seen_at:  # a writer that observed it earlier
                campaign.first_seen_at, campaign.baseline = seen_at, baseline
                session.add(campaign)
            new_for_source = _insert_if_absent(
                session,
                CampaignSource,
                ["campaign_id", "source_id"],
                campaign_id=campaign.id,
                source_id=source_id,
                first_seen_at=seen_at,
                first_published_at=published_at,
                baseline=baseline,
                article_id=article_id,
                context=context,
            )
            per_source = session.get(CampaignSource, (campaign.id, source_id))
            if not new_for_source and per_source is not None:
                if moves_origin(published_at, per_source.first_published_at):
                    per_source.first_published_at, per_source.article_id, per_source.context = (
                        published_at,
                        article_id,
                        context,
                    )
                    session.add(per_source)
                if seen_at < per_source.first_seen_at:
                    per_source.first_seen_at, per_source.baseline = seen_at, baseline
                    session.add(per_source)
            if version_id is None:
                out.append(RecordedCampaign(mention.name, mention.kind, new_overall, new_for_source))
                continue
            exists = session.exec(
                select(CampaignMention.id).where(
                    CampaignMention.campaign_id == campaign.id, CampaignMention.version_id == version_id
                )
            ).first()
            if exists is None:
                session.add(
                    CampaignMention(
                        campaign_id=campaign.id,
                        version_id=version_id,
                        article_id=article_id,
                        source_id=source_id,
                        count=mention.count,
                        context=context,
                        seen_at=published_at,
                    )
                )
            out.append(RecordedCampaign(mention.name, mention.kind, new_overall, new_for_source))
        return out

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

        mentions = select(
            CampaignMention.campaign_id, func.count(func.distinct(CampaignMention.article_id)).label("n")
        ).group_by(col(CampaignMention.campaign_id))
        if source_id is not None:
            mentions = mentions.where(CampaignMention.source_id == source_id)
        counts = mentions.subquery()
        statement = select(Campaign, counts.c.n).join(counts, counts.c.campaign_id == Campaign.id)
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
