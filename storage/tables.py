"""The models' Core tables, for statements over many rows at once (the write path, search, the
outbox): SQLModel's classes declare them; bulk INSERT/UPDATE and joins use these."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from storage.models import (
    Article,
    ArticleSignature,
    ArticleVersion,
    Campaign,
    CampaignMention,
    CampaignSource,
    Capture,
    Delivery,
    Event,
    HttpValidator,
    Outbox,
    Republication,
    SignatureBand,
    SourceState,
)

ARTICLE = cast(Table, Article.__table__)  # type: ignore[attr-defined]
VERSION = cast(Table, ArticleVersion.__table__)  # type: ignore[attr-defined]
EVENT = cast(Table, Event.__table__)  # type: ignore[attr-defined]
CAPTURE = cast(Table, Capture.__table__)  # type: ignore[attr-defined]
REPUBLICATION = cast(Table, Republication.__table__)  # type: ignore[attr-defined]
SIGNATURE = cast(Table, ArticleSignature.__table__)  # type: ignore[attr-defined]
BAND = cast(Table, SignatureBand.__table__)  # type: ignore[attr-defined]
CAMPAIGN = cast(Table, Campaign.__table__)  # type: ignore[attr-defined]
CAMPAIGN_SOURCE = cast(Table, CampaignSource.__table__)  # type: ignore[attr-defined]
MENTION = cast(Table, CampaignMention.__table__)  # type: ignore[attr-defined]
VALIDATOR = cast(Table, HttpValidator.__table__)  # type: ignore[attr-defined]
SOURCE_STATE = cast(Table, SourceState.__table__)  # type: ignore[attr-defined]
OUTBOX = cast(Table, Outbox.__table__)  # type: ignore[attr-defined]
DELIVERY = cast(Table, Delivery.__table__)  # type: ignore[attr-defined]
