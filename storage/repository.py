"""The storage API the pipeline, the feeds and the CLI use. No SQL outside this package.

Every write is one short transaction, so a crash leaves either the whole fetch result or nothing.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ParamSpec, Protocol, TypeVar

from sqlalchemy import Engine, func, insert, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.campaigns import CampaignRepository, FoundMention
from storage.db import READ_ONLY
from storage.diff import change_size
from storage.models import (
    Article,
    ArticleSignature,
    ArticleStatus,
    ArticleVersion,
    Campaign,
    CampaignMention,
    Event,
    EventKind,
    HttpValidator,
    Listing,
    Republication,
    SignatureBand,
    SourceState,
)
from storage.retry import in_retried_transaction
from storage.significance import classify
from storage.similarity import NEAR_DUPLICATE, LeanMinHash, band_keys, from_bytes, signature, similarity, to_bytes
from storage.types import utcnow

MIN_SHARED_BANDS = 2
MAX_CANDIDATES = 20
P = ParamSpec("P")
T = TypeVar("T")
# A copy dated this much earlier than the article we know is taken to be the true original.
EARLIER_BY = timedelta(hours=12)


def _published_earlier(candidate: datetime | None, known: datetime | None) -> bool:
    return candidate is not None and known is not None and candidate < known - EARLIER_BY


class Extracted(Protocol):
    """What the pipeline hands to storage for one fetched article page."""

    url: str
    title: str
    body_text: str
    body_html: str
    published_at: datetime | None
    source_label: str | None
    author: str | None
    content_hash: str
    encoding: str | None
    normalised_text: str  # title and body in matching form, for near-duplicate search
    meta_published_at: datetime | None  # the meta tag's date when the page displays another
    status: str  # ok, short, media, attachment
    attachments: tuple[str, ...]  # document links in the body (PDF, Word ...)


class OutcomeKind(StrEnum):
    new = "new"
    changed = "changed"
    reverted = "reverted"  # back to an earlier version's content (A -> B -> A)
    unchanged = "unchanged"
    duplicate = "duplicate"


@dataclass(frozen=True)
class Outcome:
    """What recording one extraction did."""

    kind: OutcomeKind
    url: str
    article_id: int
    version: int | None = None
    version_id: int | None = None
    duplicate_of: str | None = None
    restored: bool = False
    reported: bool = True  # False for boring edits and flip-flops
    similarity: float | None = None


@dataclass(frozen=True)
class Validators:
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class ArticleWithVersions:
    article: Article
    versions: list[ArticleVersion]


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off for a failing source: base, 2 x base, 4 x base ... up to ``cap``."""

    base: timedelta = timedelta(minutes=1)
    cap: timedelta = timedelta(hours=6)

    def delay(self, failures: int) -> timedelta:
        return min(self.cap, self.base * 2 ** max(0, failures - 1))


class Store(CampaignRepository):
    """Repository over one database engine."""

    def __init__(self, engine: Engine):
        self.engine = engine
        # Reads begin a deferred transaction: on SQLite they never take the write lock, so readers
        # (the feed server) do not queue behind the crawler. Writes go through transaction().
        self.read_engine = engine.execution_options(**{READ_ONLY: True})
        # SQLite has one writer at a time: threads queueing on its lock only add contention.
        workers = 1 if engine.dialect.name == "sqlite" else 4
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="store")

    async def run(self, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call a (blocking) store method from async code, on the store's own threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(method, *args, **kwargs))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():  # a write
            yield session

    # -- articles -------------------------------------------------------------------------------

    def record(
        self,
        source_id: str,
        page: Extracted,
        *,
        fetched_at: datetime | None = None,
        mentions: Sequence[FoundMention] = (),
    ) -> Outcome:
        """Store one extraction: a new article, a new version, or nothing new. Idempotent.

        ``mentions`` (campaigns found in the page) are stored in the same transaction as the
        version, so a crash can never leave an article without its campaigns.
        """
        fetched_at = fetched_at or utcnow()

        def attempt() -> Outcome:
            with self.transaction() as session:
                outcome = self._record(session, source_id, page, fetched_at)
                if mentions and outcome.kind in (OutcomeKind.new, OutcomeKind.changed, OutcomeKind.duplicate):
                    self._add_mentions(
                        session,
                        outcome.article_id,
                        outcome.version_id,
                        source_id,
                        mentions,
                        page.published_at or fetched_at,
                    )
                return outcome

        # Another writer may insert the same URL, version or campaign first: re-read and decide again.
        return in_retried_transaction(attempt)

    def _record(self, session: Session, source_id: str, page: Extracted, now: datetime) -> Outcome:
        article = session.exec(select(Article).where(Article.url == page.url)).first()
        if article is None:
            return self._record_unknown_url(session, source_id, page, now)

        article.last_seen = article.last_checked = now
        restored = article.status == ArticleStatus.removed
        if restored:
            article.status, article.removed_at = ArticleStatus.live, None
            session.add(Event(article_id=article.id, kind=EventKind.restored, at=now))
        session.add(article)
        current = self._version(session, article.id, article.current_version)
        if current.content_hash == page.content_hash:
            return Outcome(
                OutcomeKind.unchanged,
                page.url,
                article.id,
                current.version,
                current.id,
                restored=restored,  # type: ignore[arg-type]
            )

        earlier = session.exec(
            select(ArticleVersion)
            .where(ArticleVersion.article_id == article.id, ArticleVersion.content_hash == page.content_hash)
            .order_by(col(ArticleVersion.version).desc())
        ).first()
        if earlier is not None:
            # A -> B -> A: the content is stored already; note the flip and keep quiet about it.
            self._make_current(article, earlier)
            note = f"reverted to version {earlier.version}"
            session.add(
                Event(
                    article_id=article.id,
                    version_id=earlier.id,
                    kind=EventKind.edited,
                    at=now,
                    reported=False,
                    note=note,
                )
            )
            return Outcome(
                OutcomeKind.reverted,
                page.url,
                article.id,
                earlier.version,
                earlier.id,  # type: ignore[arg-type]
                restored=restored,
                reported=False,
            )

        version = self._add_version(session, article, page, now, previous=current)
        article.version_count = version.version
        self._make_current(article, version)
        significance = classify(
            f"{current.title}\n{current.body_text}",
            f"{page.title}\n{page.body_text}",
            old_fetched=current.fetched_at,
            new_fetched=now,
        )
        session.add(
            Event(
                article_id=article.id,
                version_id=version.id,
                kind=EventKind.edited,
                at=now,
                reported=significance.reported,
                note=None if significance.reported else significance.reason,
            )
        )
        return Outcome(
            OutcomeKind.changed,
            page.url,
            article.id,
            version.version,
            version.id,  # type: ignore[arg-type]
            restored=restored,
            reported=significance.reported,
        )

    @staticmethod
    def _make_current(article: Article, version: ArticleVersion) -> None:
        article.current_version, article.title, article.content_hash = (
            version.version,
            version.title,
            version.content_hash,
        )
        if version.published_at:
            article.published_at = version.published_at

    def _record_unknown_url(self, session: Session, source_id: str, page: Extracted, now: datetime) -> Outcome:
        republished = session.exec(select(Republication).where(Republication.url == page.url)).first()
        if republished is not None:
            original = session.get(Article, republished.article_id)
            assert original is not None
            return Outcome(
                OutcomeKind.duplicate,
                page.url,
                original.id,
                duplicate_of=original.url,  # type: ignore[arg-type]
                similarity=republished.similarity,
                reported=False,
            )

        sig = signature(page.normalised_text)
        original, score = self._first_with_hash(session, page.content_hash), 1.0
        exact = original is not None
        if original is None:
            original, score = self._nearest(session, sig)
        if original is not None and not _published_earlier(page.published_at, original.published_at):
            session.add(
                Republication(
                    url=page.url,
                    article_id=original.id,
                    source_id=source_id,
                    first_seen=now,  # type: ignore[arg-type]
                    similarity=score,
                    published_at=page.published_at,
                    content_hash=page.content_hash,
                    title=None if exact else page.title,
                    body_text=None if exact else page.body_text,
                )
            )
            session.add(
                Event(
                    article_id=original.id,
                    kind=EventKind.republished,
                    at=now,
                    reported=False,  # type: ignore[arg-type]
                    note=page.url,
                )
            )
            return Outcome(
                OutcomeKind.duplicate,
                page.url,
                original.id,
                duplicate_of=original.url,  # type: ignore[arg-type]
                similarity=score,
                reported=False,
            )

        article = Article(
            url=page.url,
            source_id=source_id,
            first_seen=now,
            last_seen=now,
            last_checked=now,
            published_at=page.published_at or now,
            title=page.title,
            content_hash=page.content_hash,
        )
        session.add(article)
        session.flush()
        if original is not None:
            # The article we knew turns out to be a later copy of this one: the first publisher is the original.
            original.original_id, original.similarity = article.id, score
            session.add(original)
        version = self._add_version(session, article, page, now, previous=None)
        session.add(Event(article_id=article.id, version_id=version.id, kind=EventKind.published, at=now))  # type: ignore[arg-type]
        session.add(ArticleSignature(article_id=article.id, minhash=to_bytes(sig)))  # type: ignore[arg-type]
        # Core insert: sixteen ORM objects per article would cost more than the rest of record() together.
        session.execute(insert(SignatureBand), [{"band": band, "article_id": article.id} for band in band_keys(sig)])
        return Outcome(OutcomeKind.new, page.url, article.id, 1, version.id)  # type: ignore[arg-type]

    @staticmethod
    def _nearest(session: Session, sig: LeanMinHash) -> tuple[Article | None, float]:
        """The most similar known article above the near-duplicate threshold."""
        # A true near-duplicate (J >= 0.8) shares ~6.5 of 16 bands; demanding two keeps ~99 % of them
        # and drops most chance matches, each of which would cost a signature comparison.
        shared = (
            select(SignatureBand.article_id)
            .where(col(SignatureBand.band).in_(band_keys(sig)))
            .group_by(col(SignatureBand.article_id))
            .having(func.count() >= MIN_SHARED_BANDS)
            .order_by(func.count().desc())
            .limit(MAX_CANDIDATES)
        )
        candidates = session.exec(select(ArticleSignature).where(col(ArticleSignature.article_id).in_(shared))).all()
        best, best_score = None, NEAR_DUPLICATE
        for stored in candidates:
            score = similarity(sig, from_bytes(stored.minhash))
            if score >= best_score:
                best, best_score = stored.article_id, score
        if best is None:
            return None, 0.0
        article = session.get(Article, best)
        while article is not None and article.original_id is not None:  # link to the first publisher
            article = session.get(Article, article.original_id)
        return article, round(best_score, 3)

    @staticmethod
    def _add_version(
        session: Session, article: Article, page: Extracted, now: datetime, previous: ArticleVersion | None
    ) -> ArticleVersion:
        version = ArticleVersion(
            article_id=article.id,  # type: ignore[arg-type]
            version=(previous.version + 1) if previous else 1,
            content_hash=page.content_hash,
            title=page.title,
            body_text=page.body_text,
            body_html=page.body_html,
            published_at=page.published_at,
            source_label=page.source_label,
            author=page.author,
            fetched_at=now,
            encoding=page.encoding,
            meta_published_at=page.meta_published_at,
            status=page.status,
            attachments="\n".join(page.attachments) or None,
            change_chars=change_size(previous.body_text, page.body_text) if previous else 0,
        )
        session.add(version)
        session.flush()
        return version

    @staticmethod
    def _version(session: Session, article_id: int | None, number: int) -> ArticleVersion:
        version = session.exec(
            select(ArticleVersion).where(ArticleVersion.article_id == article_id, ArticleVersion.version == number)
        ).first()
        assert version is not None, f"article {article_id} has no version {number}"
        return version

    @staticmethod
    def _first_with_hash(session: Session, content_hash: str) -> Article | None:
        article_id = session.exec(
            select(ArticleVersion.article_id)
            .where(ArticleVersion.content_hash == content_hash)
            .order_by(col(ArticleVersion.fetched_at), col(ArticleVersion.id))
        ).first()
        article = session.get(Article, article_id) if article_id is not None else None
        while article is not None and article.original_id is not None:
            article = session.get(Article, article.original_id)
        return article

    def mark_removed(self, url: str, *, at: datetime | None = None, reason: str | None = None) -> bool:
        """Mark a live article removed; returns False if it was unknown or already removed."""
        at = at or utcnow()
        with self.transaction() as session:
            article = session.exec(select(Article).where(Article.url == url)).first()
            if article is None or article.status == ArticleStatus.removed:
                return False
            article.status, article.removed_at, article.last_checked = ArticleStatus.removed, at, at
            session.add(article)
            session.add(Event(article_id=article.id, kind=EventKind.removed, at=at, note=reason))  # type: ignore[arg-type]
            return True

    def touch(self, url: str, *, at: datetime | None = None) -> None:
        """Note that an article was checked and found unchanged (e.g. a 304)."""
        at = at or utcnow()
        with self.transaction() as session:
            article = session.exec(select(Article).where(Article.url == url)).first()
            if article is not None:
                article.last_checked = article.last_seen = at
                session.add(article)

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        """Which of these URLs are already stored, as articles or as republications."""
        wanted = list(dict.fromkeys(urls))
        known: set[str] = set()
        with Session(self.read_engine) as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                known.update(session.exec(select(Article.url).where(col(Article.url).in_(chunk))).all())
                known.update(session.exec(select(Republication.url).where(col(Republication.url).in_(chunk))).all())
        return known

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

    def latest_articles(
        self,
        limit: int = 50,
        *,
        source_ids: Sequence[str] | None = None,
        query: str | None = None,
        campaign: str | None = None,
        include_removed: bool = True,
    ) -> list[Article]:
        """Newest articles first (by publication date), optionally for some sources or one campaign."""
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
        if not include_removed:
            statement = statement.where(Article.status == ArticleStatus.live)
        if query:
            statement = statement.where(col(Article.title).contains(query, autoescape=True))
        statement = statement.order_by(col(Article.published_at).desc(), col(Article.id).desc()).limit(limit)
        with Session(self.read_engine, expire_on_commit=False) as session:
            return list(session.exec(statement).all())

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
        statement = select(Article).where(Article.status == ArticleStatus.live, or_(*conditions))
        if source_id is not None:
            statement = statement.where(Article.source_id == source_id)
        statement = statement.order_by(col(Article.last_checked)).limit(limit)
        with Session(self.read_engine, expire_on_commit=False) as session:
            return list(session.exec(statement).all())

    def events(
        self,
        *,
        since: datetime | None = None,
        kinds: Sequence[EventKind] | None = None,
        reported_only: bool = True,
        limit: int = 200,
        source_ids: Sequence[str] | None = None,
        query: str | None = None,
    ) -> list[tuple[Event, Article]]:
        """Newest events first, each with its article."""
        statement = select(Event, Article).join(Article, col(Article.id) == Event.article_id)
        if source_ids is not None:
            statement = statement.where(col(Article.source_id).in_(list(source_ids)))
        if query:
            statement = statement.where(col(Article.title).contains(query, autoescape=True))
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
        if not version_ids:
            return {}
        with Session(self.read_engine, expire_on_commit=False) as session:
            rows = session.exec(select(ArticleVersion).where(col(ArticleVersion.id).in_(list(version_ids)))).all()
            return {v.id: v for v in rows}  # type: ignore[misc]

    def previous_versions(self, version_ids: Sequence[int]) -> dict[int, ArticleVersion]:
        """For each version id, the version before it (of the same article), in one query."""
        if not version_ids:
            return {}
        newer = aliased(ArticleVersion)
        statement = (
            select(newer.id, ArticleVersion)
            .join(
                ArticleVersion,
                (ArticleVersion.article_id == newer.article_id) & (ArticleVersion.version == newer.version - 1),
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

    def update_listing(self, list_url: str, urls: Sequence[str], *, at: datetime | None = None) -> list[str] | None:
        """Remember what a list page shows now; returns what it showed last time (None the first time)."""
        with self.transaction() as session:
            row = session.get(Listing, list_url)
            previous = row.urls.split("\n") if row and row.urls else ([] if row else None)
            row = row or Listing(list_url=list_url, urls="", checked_at=at or utcnow())
            row.urls, row.checked_at = "\n".join(urls), at or utcnow()
            session.add(row)
            return previous

    def republications(self, article_id: int) -> list[Republication]:
        with Session(self.read_engine, expire_on_commit=False) as session:
            return list(session.exec(select(Republication).where(Republication.article_id == article_id)).all())

    # -- HTTP validators ---------------------------------------------------------------------------

    def get_validators(self, url: str) -> Validators | None:
        with Session(self.read_engine) as session:
            row = session.get(HttpValidator, url)
            return Validators(row.etag, row.last_modified) if row else None

    def save_validators(
        self, url: str, *, etag: str | None, last_modified: str | None, status: int, at: datetime | None = None
    ) -> None:
        with self.transaction() as session:
            row = session.get(HttpValidator, url) or HttpValidator(url=url, checked_at=at or utcnow())
            if status != 304:  # a 304 confirms the validators we sent; keep them
                row.etag, row.last_modified = etag, last_modified
            row.last_status, row.checked_at = status, at or utcnow()
            session.add(row)

    # -- sources ------------------------------------------------------------------------------------

    def source_state(self, source_id: str) -> SourceState | None:
        with Session(self.read_engine, expire_on_commit=False) as session:
            return session.get(SourceState, source_id)

    def source_states(self) -> dict[str, SourceState]:
        with Session(self.read_engine, expire_on_commit=False) as session:
            return {s.source_id: s for s in session.exec(select(SourceState)).all()}

    def record_source_run(
        self,
        source_id: str,
        *,
        ok: bool,
        error: str | None = None,
        at: datetime | None = None,
        backoff: Backoff | None = None,
    ) -> SourceState:
        """Update a source's health after one crawl; a failure sets ``backoff_until`` by the policy."""
        at = at or utcnow()
        with self.transaction() as session:
            state = session.get(SourceState, source_id) or SourceState(source_id=source_id)
            state.last_checked = at
            if ok:
                state.last_success, state.consecutive_failures = at, 0
                state.last_error, state.backoff_until = error, None
            else:
                state.consecutive_failures += 1
                state.last_error = error
                state.backoff_until = at + backoff.delay(state.consecutive_failures) if backoff else None
            session.add(state)
            return state

    def claim_due(self, source_id: str, *, due_at: datetime, next_due: datetime) -> bool:
        """Atomically take one due run of a source (cluster mode): True for exactly one caller per due time."""
        with self.transaction() as session:
            state = session.get(SourceState, source_id, with_for_update=True)
            if state is None:
                session.add(SourceState(source_id=source_id, next_due=next_due))
                try:
                    session.flush()
                except IntegrityError:
                    return False
                return True
            if state.next_due is not None and state.next_due > due_at:
                return False
            state.next_due = next_due
            session.add(state)
            return True

    def counts(self) -> dict[str, int]:
        """Row counts, for summaries and health."""
        with Session(self.read_engine) as session:
            return {
                "articles": session.exec(select(func.count()).select_from(Article)).one(),
                "versions": session.exec(select(func.count()).select_from(ArticleVersion)).one(),
                "republications": session.exec(select(func.count()).select_from(Republication)).one(),
                "events": session.exec(select(func.count()).select_from(Event)).one(),
            }
