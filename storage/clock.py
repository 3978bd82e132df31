"""Time as procwatch keeps it: UTC in the database, Beijing time for people and for the portals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

#: the portals' clock: dates are shown and parsed in Beijing time (no daylight saving since 1991)
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def beijing_iso(value: datetime | None) -> str | None:
    """ISO 8601 in Beijing time (``2024-07-09T18:30:00+08:00``), None stays None."""
    return value.astimezone(BEIJING).isoformat() if value else None
