"""The closed vocabularies stored in the database, one enum each (no SQLAlchemy here: the CLI and the
crawler use them without loading the ORM)."""

from __future__ import annotations

from enum import StrEnum


class ArticleStatus(StrEnum):
    live = "live"
    removed = "removed"


class EventKind(StrEnum):
    published = "published"
    edited = "edited"
    removed = "removed"
    restored = "restored"
    republished = "republished"


class CampaignKind(StrEnum):
    """What a name found in a text is: a time-bound campaign (专项行动, 年) or a standing formulation (提法)."""

    campaign = "campaign"
    formulation = "formulation"


class NoticeKind(StrEnum):
    """What an outbox entry tells (crawler.config.Trigger names the same, for rules)."""

    published = "published"
    edited = "edited"
    removed = "removed"
    restored = "restored"
    campaign = "campaign"
    emerging = "emerging"
    failing = "failing"
    recovered = "recovered"


#: the events of the archive a reader is told of (a republication is shown with its original instead)
TOLD_EVENTS = frozenset({NoticeKind.published, NoticeKind.edited, NoticeKind.removed, NoticeKind.restored})
