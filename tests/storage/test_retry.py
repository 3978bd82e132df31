"""Transactions that lose a race are re-run; real errors are not."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from storage.retry import in_retried_transaction


class Orig(Exception):
    def __init__(self, sqlstate: str | None):
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def flaky(errors: list[Exception]):
    calls = []

    def operation() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "done"

    return operation, calls


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("INSERT", {}, Orig("40P01")),  # deadlock detected
        OperationalError("UPDATE", {}, Orig("40001")),  # serialization failure
        IntegrityError("INSERT", {}, Orig("23505")),  # unique key taken a moment ago
    ],
)
def test_a_lost_race_is_run_again(error: DBAPIError) -> None:
    operation, calls = flaky([error, error])
    assert in_retried_transaction(operation) == "done" and len(calls) == 3


def test_other_database_errors_and_persistent_races_are_raised() -> None:
    operation, calls = flaky([OperationalError("SELECT", {}, Orig("53300"))])  # too many connections
    with pytest.raises(OperationalError):
        in_retried_transaction(operation)
    assert len(calls) == 1
    operation, calls = flaky([IntegrityError("INSERT", {}, Orig("23505"))] * 3)
    with pytest.raises(IntegrityError):
        in_retried_transaction(operation)
    assert len(calls) == 3


def test_a_busy_database_is_recognised_by_its_error_code_not_its_words(tmp_path) -> None:
    import sqlite3

    from storage.retry import busy

    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path)
    holder.execute("CREATE TABLE t (x)")
    holder.commit()
    holder.execute("BEGIN EXCLUSIVE")
    try:
        sqlite3.connect(path, timeout=0).execute("SELECT * FROM t")
    except sqlite3.OperationalError as exc:
        locked = OperationalError("SELECT", {}, exc)
    finally:
        holder.rollback()
    assert busy(locked)
    worded = sqlite3.OperationalError("database is locked (but says so only in words)")
    assert not busy(OperationalError("SELECT", {}, worded))  # no result code: not classed by its text
    assert busy(OperationalError("SELECT", {}, Orig("55P03")))  # PostgreSQL: lock_not_available
    assert not busy(OperationalError("SELECT", {}, Orig("23505")))
