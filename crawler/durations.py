"""Human durations as written in sources.yaml: ``30m``, ``1h30m``, ``2d``, ``500ms``."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | int | float) -> timedelta:
    """Parse ``'30m'``, ``'1h30m'``, ``'90s'`` (a bare number is seconds).

    Raises ValueError with a message fit to show the user.
    """
    if isinstance(text, bool):
        raise ValueError(f"expected a duration like '30m', got {text!r}")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"expected a positive duration, got {text!r}")
        return timedelta(seconds=text)
    compact = str(text).strip().replace(" ", "").lower()
    pos, total = 0, 0.0
    for match in _PART.finditer(compact):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if not compact or pos != len(compact):
        raise ValueError(f"expected a duration like '30m', got {text!r}")
    return timedelta(seconds=total)


def format_duration(delta: timedelta) -> str:
    """The shortest ``1h30m`` style spelling of a duration."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
