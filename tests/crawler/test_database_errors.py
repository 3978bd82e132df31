"""A database that cannot be opened is one line and exit 3, whatever the cause; commands that only read
never create a file, a directory or a table."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from storage.db import DATABASE_ENV
from tests.conftest import POSTGRES_SKIP
from tests.support.cli import procwatch

READERS = [
    ("changes",),
    ("history", "http://example.gov.cn/a.shtml"),
    ("article", "http://example.gov.cn/a.shtml"),
    ("campaigns", "list"),
    ("campaigns", "emerging"),
    ("db", "status"),
]


def one_line(result, database: str) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 3, (result.returncode, result.stderr)
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("procwatch: ") and database in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("command", READERS, ids=lambda c: " ".join(c))
def test_a_read_command_creates_no_directory_and_no_file(tmp_path: Path, command: tuple[str, ...]) -> None:
    missing = tmp_path / "nope" / "deeper" / "x.sqlite3"
    line = one_line(procwatch(*command, "--db", str(missing)), str(missing))
    assert "no database at" in line
    assert not (tmp_path / "nope").exists()


def test_a_dry_run_does_not_create_the_database(tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(
        "sources:\n  - {id: dead, name: 无, adapter: trs, lists: ['http://127.0.0.1:9/index.shtml'], allow_private: true, schedule: {every: 1h}}\n"
    )
    db = tmp_path / "never.sqlite3"
    result = procwatch("fetch", "dead", "--dry-run", "--config", str(config), "--db", str(db))
    assert result.returncode == 1  # the source is unreachable: reported, and nothing was created
    assert not db.exists() and not list(tmp_path.glob("never.sqlite3*"))


@pytest.mark.parametrize(
    ("make", "cause"),
    [
        (lambda tmp: tmp / "text.sqlite3", "file is not a database"),
        (lambda tmp: "mysql://user@db.example/procwatch", "unsupported kind 'mysql'"),
        (lambda tmp: "postgresql://postgres@127.0.0.1:1/test", "Connection refused"),
    ],
    ids=["not-sqlite", "mysql-url", "dead-port"],
)
def test_an_unusable_database_is_one_line_with_exit_3(tmp_path: Path, make, cause: str) -> None:
    target = make(tmp_path)
    if isinstance(target, Path):
        target.write_text("this is a text file, not SQLite\n" * 100)
    database = str(target)
    for command in (("changes",), ("fetch", "x", "--config", str(_config(tmp_path)))):
        line = one_line(procwatch(*command, "--db", database), database.split("://")[-1].split("@")[-1])
        assert cause in line, line


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write a read-only file: the check cannot be seen as root")
def test_a_read_only_file_is_refused_before_crawling(tmp_path: Path) -> None:
    db = tmp_path / "ro.sqlite3"
    assert procwatch("db", "upgrade", "--db", str(db)).returncode == 0
    db.chmod(0o444)
    assert "read-only" in one_line(procwatch("fetch", "x", "--config", str(_config(tmp_path)), "--db", str(db)), str(db))


@pytest.mark.skipif(bool(POSTGRES_SKIP), reason=f"PostgreSQL tests skipped: {POSTGRES_SKIP}")
def test_a_read_command_creates_no_table_in_a_shared_postgresql_database(postgres_url: str) -> None:
    from tests.conftest import _reset_postgres

    _reset_postgres(postgres_url)
    line = one_line(procwatch("changes", "--db", postgres_url), postgres_url.split("@")[-1])
    assert "no procwatch database" in line
    engine = create_engine(postgres_url)
    assert inspect(engine).get_table_names() == []  # not one of procwatch's tables was created
    engine.dispose()


def test_the_database_environment_variable_is_honoured_the_same_way(tmp_path: Path) -> None:
    missing = tmp_path / "env" / "x.sqlite3"
    result = procwatch("changes", env={DATABASE_ENV: str(missing)})
    assert "no database at" in one_line(result, str(missing)) and not missing.parent.exists()


def _config(directory: Path) -> Path:
    path = directory / "sources.yaml"
    path.write_text(
        "sources:\n  - {id: x, name: x, adapter: trs, lists: ['http://127.0.0.1:9/index.shtml'], allow_private: true, schedule: {every: 1h}}\n"
    )
    return path
