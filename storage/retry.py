"""Re-running a transaction that lost a race with another writer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError

T = TypeVar("T")
# PostgreSQL: deadlock detected, serialization failure. Both mean "try again", never "wrong data".
_RETRYABLE_SQLSTATES = {"40P01", "40001"}


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
