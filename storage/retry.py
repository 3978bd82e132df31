"""Re-running a transaction that lost a race with another writer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError

T = TypeVar("T")
# PostgreSQL: deadlock detected, serialization failure. Both mean "try again", never "wrong data".
_RETRYABLE_SQLSTATES = {"40P01", "40001"}


_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6  # result codes (the low byte of an extended code)
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout or NOWAIT


def busy(exc: DBAPIError) -> bool:
    """The database is busy or locked by another writer for now: by the driver's error code (SQLite's
    result code, PostgreSQL's SQLSTATE), never by the message's words."""
    code = getattr(exc.orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE


def lost_race(exc: DBAPIError) -> bool:
    """A unique key taken a moment ago by another writer, a deadlock, or a serialization failure."""
    return isinstance(exc, IntegrityError) or getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES


def in_retried_transaction(operation: Callable[[], T], attempts: int = 3) -> T:
    """Run ``operation`` (one whole transaction); re-run it when it lost a race, up to ``attempts`` times."""
    for attempt in range(attempts):
        try:
            return operation()
        except DBAPIError as exc:
            if attempt == attempts - 1 or not lost_race(exc):
                raise
    raise AssertionError("unreachable")
