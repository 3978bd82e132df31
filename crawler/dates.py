"""Publication dates: from meta tags, page text and article URLs, always in Beijing time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from storage.clock import BEIJING, beijing_iso

__all__ = ["BEIJING", "beijing_iso", "date_from_url", "displayed_date", "labelled_date", "parse_date"]

# A date with an optional time of day, as portals print it (also used to recognise date-only lines).
DATE = re.compile(
    r"(?P<y>(?:19|20)\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:[\sT]*(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{2})(?:\s*[:：分]\s*(?P<S>\d{2}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)
_COMPACT = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})(?!\d)")
_LABELLED = re.compile(
    r"(?:发布时间|发布日期|發佈時間|發布時間|发文日期|成文日期|时间|日期|時間|更新时间|发表时间|發表時間)\s*[:：]\s*"
)

_URL_PATTERNS = (
    re.compile(r"/t(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})_\d+"),  # TRS: /202211/t20221130_3898030.shtml
    re.compile(r"/art/(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})/"),  # Hanweb: /art/2016/11/22/art_1_2.html
    re.compile(r"/(?P<y>\d{4})-(?P<m>\d{2})/(?P<d>\d{2})/"),  # /c100007/2022-05/10/content_123.shtml
    re.compile(r"/(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})/"),  # /20221130/
    re.compile(r"/(?P<y>\d{4})/(?P<m>\d{2})(?P<d>\d{2})/"),  # /2022/1130/
)

EARLIEST = datetime(1990, 1, 1, tzinfo=BEIJING)


def _build(parts: dict[str, str | None], now: datetime | None) -> datetime | None:
    try:
        value = datetime(
            int(parts["y"] or 0),
            int(parts["m"] or 0),
            int(parts["d"] or 0),
            int(parts.get("H") or 0),
            int(parts.get("M") or 0),
            int(parts.get("S") or 0),
        )
    except ValueError:  # 2023-02-30, 25:61 and friends
        return None
    tz = parts.get("tz")
    if tz:
        if tz == "Z":
            aware = value.replace(tzinfo=UTC)
        else:
            sign = 1 if tz[0] == "+" else -1
            digits = tz[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            aware = value.replace(tzinfo=timezone(sign * offset))
        aware = aware.astimezone(BEIJING)
    else:
        aware = value.replace(tzinfo=BEIJING)
    latest = (now or datetime.now(BEIJING)) + timedelta(days=2)
    if not EARLIEST <= aware <= latest:
        return None
    return aware


def parse_date(text: str | None, *, now: datetime | None = None) -> datetime | None:
    """The first plausible date in ``text`` (``2023-12-13 15:32:02``, ``2022年5月10日``, ISO 8601)."""
    if not text:
        return None
    for match in DATE.finditer(text):
        value = _build(match.groupdict(), now)
        if value is not None:
            return value
    compact = _COMPACT.search(text)
    return _build(compact.groupdict(), now) if compact else None


def labelled_date(text: str, *, now: datetime | None = None) -> datetime | None:
    """A date announced as such in page text: ``发布时间:2023-12-13 15:32:02``."""
    for match in _LABELLED.finditer(text):
        value = parse_date(text[match.end() : match.end() + 40], now=now)
        if value is not None:
            return value
    return None


def displayed_date(text: str, *, now: datetime | None = None) -> datetime | None:
    """The date a page shows near its headline: a labelled one (``发布时间:``) first, else the first date."""
    return labelled_date(text, now=now) or parse_date(text, now=now)


def date_from_url(url: str, *, now: datetime | None = None) -> datetime | None:
    """The date CMSs put in article paths; the time of day is unknown, so midnight Beijing."""
    for pattern in _URL_PATTERNS:
        match = pattern.search(url)
        if match:
            value = _build(match.groupdict(), now)
            if value is not None:
                return value
    return None


def beijing_minute(value: datetime | None) -> str:
    """``2024-07-09 18:30`` in Beijing time, for tables; ``-`` when unknown."""
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if value else "-"
