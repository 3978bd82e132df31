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
