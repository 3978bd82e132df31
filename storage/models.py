"""Tables. Every version of every article is kept; rows are never rewritten in place except for
bookkeeping columns (last seen, status)."""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Index, LargeBinary, String, Table, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapper
from sqlmodel import Field, SQLModel

from storage.kinds import ArticleStatus, CampaignKind, EventKind
from storage.types import UTCDateTime


def _ts(*, nullable: bool = True, index: bool = False) -> Any:  # a Field, typed as its column
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class SourceState(SQLModel, table=True):
    """What the crawler knows about a source between runs."""

    __tablename__ = "source_state"

    source_id: str = Field(primary_key=True, max_length=64)
    last_checked: datetime | None = _ts()
    last_success: datetime | None = _ts()
    consecutive_failures: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    backoff_until: datetime | None = _ts()
    next_due: datetime | None = _ts()  # cluster mode: the next run not yet claimed by a worker


class Article(SQLModel, table=True):
    """One canonical URL. Title, hash and dates mirror the latest version for fast feeds."""

    __tablename__ = "article"
    __table_args__ = (
        Index("ix_article_published", "published_at", "id"),
        Index("ix_article_source_published", "source_id", "published_at", "id"),
        Index("ix_article_first_seen", "first_seen"),  # what was found today, whatever its date
    )

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed
    url: str = Field(max_length=2048, unique=True)
    source_id: str = Field(max_length=64)
    first_seen: datetime = _ts(nullable=False)
    last_seen: datetime = _ts(nullable=False)
    last_checked: datetime | None = _ts(index=True)
    status: ArticleStatus = Field(default=ArticleStatus.live, sa_type=String(16))
    removed_at: datetime | None = _ts()
    published_at: datetime | None = _ts()
    title: str = Field(default="", sa_column=Column(Text, nullable=False))
    content_hash: str = Field(max_length=64, index=True)
    version_count: int = 1
    current_version: int = Field(default=1, description="the version live now; lower than version_count after A->B->A")
    original_id: int | None = Field(default=None, foreign_key="article.id", index=True)
    similarity: float | None = None


class ArticleVersion(SQLModel, table=True):
    """An immutable snapshot of an article as it was fetched."""

    __tablename__ = "article_version"
    __table_args__ = (UniqueConstraint("article_id", "version", name="uq_version_article_number"),)

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed
    article_id: int = Field(foreign_key="article.id", index=True)
    version: int
    content_hash: str = Field(max_length=64, index=True)
    title: str = Field(sa_column=Column(Text, nullable=False))
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    body_html: str = Field(sa_column=Column(Text, nullable=False))
    published_at: datetime | None = _ts()
    source_label: str | None = Field(default=None, max_length=512)
    author: str | None = Field(default=None, max_length=512)
    fetched_at: datetime = _ts(nullable=False)
    encoding: str | None = Field(default=None, max_length=32)
    change_chars: int = Field(default=0, description="characters inserted plus deleted versus the previous version")
    meta_published_at: datetime | None = _ts()  # the meta tag's date, when the page displays another
    status: str = Field(default="ok", max_length=16)  # ok, short, media, attachment
    attachments: str | None = Field(default=None, sa_column=Column(Text))  # document URLs, one per line


class Republication(SQLModel, table=True):
    """The same (or nearly the same) article found at another URL."""

    __tablename__ = "republication"

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed
    url: str = Field(max_length=2048, unique=True)
    article_id: int = Field(foreign_key="article.id", index=True)
    source_id: str = Field(max_length=64)
    similarity: float = 1.0
    first_seen: datetime = _ts(nullable=False)
    published_at: datetime | None = _ts()
    content_hash: str | None = Field(default=None, max_length=64)
    # A near-duplicate keeps its own text, so nothing a site published is lost.
    title: str | None = Field(default=None, sa_column=Column(Text))
    body_text: str | None = Field(default=None, sa_column=Column(Text))


class Event(SQLModel, table=True):
    """Something worth telling a reader: a publication, an edit, a removal. Feeds key GUIDs on its id."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_at", "at", "id"),)

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed
    article_id: int = Field(foreign_key="article.id", index=True)
    version_id: int | None = Field(default=None, foreign_key="article_version.id")
    kind: EventKind = Field(sa_type=String(16))
    at: datetime = _ts(nullable=False)
    reported: bool = True
    note: str | None = Field(default=None, sa_column=Column(Text))


class Capture(SQLModel, table=True):
    """A response kept as served (storage.captures): the WARC record that proves a version or a removal."""

    __tablename__ = "capture"
    __table_args__ = (Index("ix_capture_digest", "digest", "url"),)

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed
    url: str = Field(max_length=2048)
    fetched_at: datetime = _ts(nullable=False)
    status: int
    file: str = Field(max_length=255, description="relative to the capture directory")
    record_offset: int = Field(sa_type=BigInteger)
    record_length: int
    digest: str = Field(max_length=64, description="WARC payload digest, sha1:BASE32")
    record_id: str = Field(max_length=64)
    revisit: bool = False
    version_id: int | None = Field(default=None, foreign_key="article_version.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="event.id", index=True)


class Listing(SQLModel, table=True):
    """The article links a list page showed last time, in order, to notice articles that vanish."""

    __tablename__ = "listing"

    list_url: str = Field(primary_key=True, max_length=2048)
    urls: str = Field(sa_column=Column(Text, nullable=False), description="newline-separated, page order")
    checked_at: datetime = _ts(nullable=False)


class ArticleSignature(SQLModel, table=True):
    """MinHash of an article's normalised text, for near-duplicate search."""

    __tablename__ = "article_signature"

    article_id: int = Field(foreign_key="article.id", primary_key=True)
    minhash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class SignatureBand(SQLModel, table=True):
    """One LSH band of a signature; articles sharing a band are near-duplicate candidates."""

    __tablename__ = "signature_band"

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed
    band: str = Field(max_length=16, index=True)
    article_id: int = Field(foreign_key="article.id", index=True)


class HttpValidator(SQLModel, table=True):
    """ETag / Last-Modified per URL, for conditional requests."""

    __tablename__ = "http_validator"

    url: str = Field(primary_key=True, max_length=2048)
    etag: str | None = Field(default=None, max_length=512)
    last_modified: str | None = Field(default=None, max_length=128)
    last_status: int | None = None
    checked_at: datetime = _ts(nullable=False)


class Campaign(SQLModel, table=True):
    """A named campaign or formulation, with where it was first seen anywhere."""

    __tablename__ = "campaign"

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed
    name: str = Field(max_length=128, unique=True)
    kind: CampaignKind = Field(sa_type=String(16))
    #: when procwatch first observed a mention (the recorded time of the version carrying it): novelty
    first_seen_at: datetime = _ts(nullable=False, index=True)
    #: the earliest publication date of a mentioning article (the origin below), shown beside it
    first_published_at: datetime | None = _ts()
    #: first observed while the archive was being filled (a source's first crawl, a backfill): known, not new
    baseline: bool = False
    first_article_id: int = Field(foreign_key="article.id")
    first_source_id: str = Field(max_length=64)
    first_context: str = Field(default="", sa_column=Column(Text, nullable=False))
    #: a reader's verdict on a discovered name: accepted (a real campaign) or muted (noise); None: open
    status: str | None = Field(default=None, max_length=16)
    #: how many articles mention it in some version (kept by the writer: counting on each read grew
    #: with the archive)
    articles: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class CampaignMention(SQLModel, table=True):
    """A campaign mentioned in one article version."""

    __tablename__ = "campaign_mention"
    __table_args__ = (
        UniqueConstraint("campaign_id", "version_id", name="uq_mention_campaign_version"),
        Index("ix_mention_campaign_article", "campaign_id", "article_id"),  # counts read the index alone
    )

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed
    campaign_id: int = Field(foreign_key="campaign.id")
    version_id: int = Field(foreign_key="article_version.id", index=True)
    article_id: int = Field(foreign_key="article.id", index=True)
    source_id: str = Field(max_length=64)
    count: int = 1
    context: str = Field(default="", sa_column=Column(Text, nullable=False))
    seen_at: datetime = _ts(nullable=False)


class CampaignSource(SQLModel, table=True):
    """The first mention of a campaign in each source: the per-source timeline of its spread."""

    __tablename__ = "campaign_source"

    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True)
    source_id: str = Field(primary_key=True, max_length=64)
    first_seen_at: datetime = _ts(nullable=False)  # observed, as Campaign.first_seen_at
    first_published_at: datetime | None = _ts()
    baseline: bool = False
    article_id: int = Field(foreign_key="article.id")
    context: str = Field(default="", sa_column=Column(Text, nullable=False))


class Outbox(SQLModel, table=True):
    """Something to tell people about, written in the transaction that recorded it (so a crash can
    neither lose it nor tell it twice); the notifier turns it into deliveries by the rules."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_undispatched", "dispatched_at", "id"),)

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed
    key: str = Field(max_length=200, unique=True)  # what it is about, once: 'event:12', 'campaign:3:spp' ...
    kind: str = Field(max_length=16)  # a crawler.config.Trigger
    source_id: str | None = Field(default=None, max_length=64)
    event_id: int | None = Field(default=None, foreign_key="event.id")
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id")
    count: int | None = None  # failing: failures in a row; recovered: those before the success
    note: str | None = Field(default=None, sa_column=Column(Text))
    at: datetime = _ts(nullable=False)
    dispatched_at: datetime | None = _ts()


class Delivery(SQLModel, table=True):
    """One outbox entry sent to one destination by one rule: pending, sending (claimed until
    ``lease_until``), sent or failed (given up after the rule's attempts)."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("outbox_id", "rule", "destination", name="uq_delivery_outbox_rule_destination"),
        Index("ix_delivery_due", "status", "due_at"),
    )

    id: int = Field(default=None, primary_key=True)  # None until the row is flushed
    outbox_id: int = Field(foreign_key="outbox.id", index=True)
    rule: str = Field(max_length=64)
    destination: str = Field(max_length=64)
    status: str = Field(default="pending", max_length=16)
    due_at: datetime = _ts(nullable=False)
    attempts: int = 0
    lease_until: datetime | None = _ts()
    sent_at: datetime | None = _ts()
    last_error: str | None = Field(default=None, sa_column=Column(Text))


TRUNCATED = "…"


_SURROGATE = re.compile("[\ud800-\udfff]")


@event.listens_for(SQLModel, "before_insert", propagate=True)
@event.listens_for(SQLModel, "before_update", propagate=True)
def _fit_to_columns(mapper: Mapper[Any], connection: Connection, target: object) -> None:
    for column in mapper.columns:
        value = getattr(target, column.key, None)
        fitted = fit_to_column(column, value)
        if fitted is not value:
            setattr(target, column.key, fitted)


def fit_to_column(column: Column[Any], value: object) -> object:
    """A scraped value longer than its column (an author line of 3,000 characters) is cut to fit, with a
    visible marker, instead of failing the whole transaction on PostgreSQL. Keys are never cut. Lone
    surrogates (no database can store them, and UTF-8 cannot encode them) are dropped from every text.
    Applied to every ORM write by the hook above; Core inserts call it themselves."""
    return _fit_text(value, _column_limit(column)) if isinstance(value, str) else value


def fit_row(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """The row with its texts fitted to their columns, for Core writes (as the hook above does for ORM
    writes)."""
    limits = _limits(table)
    return {key: _fit_text(value, limits[key]) if isinstance(value, str) else value for key, value in row.items()}


@functools.cache
def _limits(table: Table) -> dict[str, int | None]:
    return {column.key: _column_limit(column) for column in table.c}


def _column_limit(column: Column[Any]) -> int | None:
    """The length a text in ``column`` is cut to (None: never cut)."""
    length = getattr(column.type, "length", None)
    return None if column.primary_key or column.unique else length


def _fit_text(value: str, limit: int | None) -> str:
    if _SURROGATE.search(value):
        value = _SURROGATE.sub("", value)
    if limit and len(value) > limit:
        value = value[: limit - len(TRUNCATED)] + TRUNCATED
    return value
