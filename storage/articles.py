"""Recording fetched articles: new articles, versions, reverts, near-duplicates, removals.

Every write is one short transaction, so a crash leaves either the whole fetch result or nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from storage.campaigns import CampaignRepository, FoundMention
from storage.clock import utcnow
from storage.diff import change_size
from storage.models import (
    Article,
    ArticleSignature,
    ArticleStatus,
    ArticleVersion,
    Event,
    EventKind,
    Republication,
    SignatureBand,
)
from storage.retry import in_retried_transaction
from storage.sanitize import ensure_sanitized
from storage.significance import classify
from storage.similarity import NEAR_DUPLICATE, Signature, band_keys, from_bytes, signature, similarity, to_bytes

MIN_SHARED_BANDS = 2
MAX_CANDIDATES = 20
# A copy dated this much earlier than the article we know is taken to be the true original.
EARLIER_BY = timedelta(hours=12)


def _published_earlier(candidate: datetime | None, known: datetime | None) -> bool:
    return candidate is not None and known is not None and candidate < known - EARLIER_BY


class Extracted(Protocol):
    """What the pipeline hands to storage for one fetched article page."""

    # read-only properties: a frozen dataclass (crawler.extract.ExtractedArticle) satisfies them

    @property
    def url(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def body_text(self) -> str: ...

    @property
    def body_html(self) -> str: ...

    @property
    def published_at(self) -> datetime | None: ...

    @property
    def source_label(self) -> str | None: ...

    @property
    def author(self) -> str | None: ...

    @property
    def content_hash(self) -> str: ...

    @property
    def encoding(self) -> str | None: ...

    @property
    def normalised_text(self) -> str: ...  # title and body in matching form, for near-duplicate search

    @property
    def meta_published_at(self) -> datetime | None: ...  # the meta tag's date when the page displays another

    @property
    def status(self) -> str: ...  # ok, short, media, attachment

    @property
    def attachments(self) -> tuple[str, ...]: ...  # document links in the body (PDF, Word ...)


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


class ArticleRepository(CampaignRepository):
    """Writes of fetched pages; campaigns found in a page are stored in the same transaction."""

    def record(
        self,
        source_id: str,
        page: Extracted,
        *,
        fetched_at: datetime | None = None,
        mentions: Sequence[FoundMention] = (),
        baseline: bool = False,
    ) -> Outcome:
        """Store one extraction: a new article, a new version, or nothing new. Idempotent.

        ``mentions`` (campaigns found in the page) are stored in the same transaction as the
        version, so a crash can never leave an article without its campaigns. ``baseline`` (a
        backfill) marks them known rather than new, as a source's first crawl does by itself.
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
                        fetched_at,
                        baseline=baseline,
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
                restored=restored,
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
                earlier.id,
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
            version.id,
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
                duplicate_of=original.url,
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
                    first_seen=now,
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
                    reported=False,
                    note=page.url,
                )
            )
            return Outcome(
                OutcomeKind.duplicate,
                page.url,
                original.id,
                duplicate_of=original.url,
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
        session.add(Event(article_id=article.id, version_id=version.id, kind=EventKind.published, at=now))
        session.add(ArticleSignature(article_id=article.id, minhash=to_bytes(sig)))
        # Core insert: sixteen ORM objects per article would cost more than the rest of record() together.
        session.execute(insert(SignatureBand), [{"band": band, "article_id": article.id} for band in band_keys(sig)])
        return Outcome(OutcomeKind.new, page.url, article.id, 1, version.id)

    @staticmethod
    def _nearest(session: Session, sig: Signature) -> tuple[Article | None, float]:
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
            article_id=article.id,
            version=(previous.version + 1) if previous else 1,
            content_hash=page.content_hash,
            title=page.title,
            body_text=page.body_text,
            # sanitised here, whatever the adapter (one loaded from outside procwatch included) produced:
            # what the database holds is safe for the feeds, the web view and JSON readers as it is
            body_html=ensure_sanitized(page.body_html, page.url),
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
        """Mark a live article removed; returns False if it was unknown or already removed (then only
        its check time moves on, so that a re-check of a removed page is not due again at once)."""
        at = at or utcnow()
        with self.transaction() as session:
            article = session.exec(select(Article).where(Article.url == url)).first()
            if article is None:
                return False
            if article.status == ArticleStatus.removed:
                article.last_checked = at
                session.add(article)
                return False
            article.status, article.removed_at, article.last_checked = ArticleStatus.removed, at, at
            session.add(article)
            session.add(Event(article_id=article.id, kind=EventKind.removed, at=at, note=reason))
            return True

    def touch(self, url: str, *, at: datetime | None = None) -> None:
        """Note that an article was checked and found unchanged (e.g. a 304)."""
        at = at or utcnow()
        with self.transaction() as session:
            article = session.exec(select(Article).where(Article.url == url)).first()
            if article is not None:
                article.last_checked = article.last_seen = at
                session.add(article)

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
