"""Opening an archive: what the process holds on the SQLite file afterwards, as other processes see it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import open_database


def _posix_locks(path: Path) -> list[str]:
    """The POSIX (fcntl) locks this process holds on ``path``, as the kernel lists them."""
    inode, pid = os.stat(path).st_ino, str(os.getpid())
    held = []
    with open("/proc/locks") as locks:
        for line in locks:
            fields = line.split()
            if fields[1] == "->":  # a waiter, not a holder
                continue
            if fields[1] == "POSIX" and fields[4] == pid and fields[5].endswith(f":{inode}"):
                held.append(fields[3])
    return held


def _count_in_other_process(database: Path, table: str) -> int:
    """A plain sqlite3 client in another process: reads, then closes (as `sqlite3 archive.db` does)."""
    script = f"import sqlite3; c = sqlite3.connect({str(database)!r}); print(c.execute('select count(*) from {table}').fetchone()[0]); c.close()"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux's /proc/locks to see the locks")
def test_the_process_keeps_its_sqlite_lock_after_opening(tmp_path: Path) -> None:
    database = tmp_path / "archive.sqlite3"
    engine = open_database(str(database))  # creates the schema under the schema lock
    try:
        with engine.connect() as connection:
            connection.execute(text("select count(*) from article"))
            # the pooled connection's shared lock must still be there: a closed second handle drops it
            assert _posix_locks(database), "open_database left the process without a lock on its database"
    finally:
        engine.dispose()


def test_another_process_reading_while_the_archive_opens_loses_nothing(tmp_path: Path) -> None:
    """The reported loss: after another process's connection closed, SQLite deleted the WAL this
    process was still writing into, and every later write went into an unlinked file."""
    database = tmp_path / "archive.sqlite3"
    engine = open_database(str(database))
    try:
        with engine.connect() as connection:  # the daemon's pooled connection stays open
            connection.execute(text("select 1"))
            assert _count_in_other_process(database, "article") == 0  # a reader opens and closes
            connection.execute(text("create table probe (x integer)"))
            connection.execute(text("insert into probe values (1), (2), (3)"))
            connection.commit()
            assert _count_in_other_process(database, "probe") == 3
        assert (tmp_path / "archive.sqlite3-wal").exists()
    finally:
        engine.dispose()
    assert _count_in_other_process(database, "probe") == 3


@pytest.mark.postgres
def test_postgres_sessions_have_time_limits(postgres_url: str) -> None:
    engine = open_database(postgres_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("show statement_timeout")).scalar() == "2min"
            assert connection.execute(text("show idle_in_transaction_session_timeout")).scalar() == "5min"
            client = connection.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
            assert client["keepalives"] == "1" and client["tcp_user_timeout"] == "60000"
    finally:
        engine.dispose()
    given = open_database(postgres_url + "?options=-c%20statement_timeout%3D1500")  # the user's value wins
    try:
        with given.connect() as connection:
            assert connection.execute(text("show statement_timeout")).scalar() == "1500ms"
            with pytest.raises(Exception, match="statement timeout"):
                connection.execute(text("select pg_sleep(5)"))
    finally:
        given.dispose()


def test_a_postgres_server_that_never_answers_is_a_one_line_error(tmp_path: Path) -> None:
    """A listener that accepts and then says nothing (a stopped proxy): connecting gives up, saying so."""
    import socket
    import time

    from storage.errors import DatabaseError

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    started = time.monotonic()
    try:
        with pytest.raises(DatabaseError) as raised:
            open_database(f"postgresql://postgres@127.0.0.1:{port}/test?connect_timeout=2")
    finally:
        silent.close()
    assert time.monotonic() - started < 30
    message = str(raised.value)
    assert "\n" not in message and f"127.0.0.1:{port}" in message and "timeout" in message.lower()
