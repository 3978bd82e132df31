"""Shared fixtures: a Store on SQLite (always) and on PostgreSQL (when the server answers)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from crawler.config import Config, load_config
from crawler.demo.mirror import Mirror
from crawler.pipeline import CrawlReport
from crawler.runtime import Runtime
from feeds.catalog import SourceCatalog
from storage import Store, make_engine
from storage.db import ensure_schema

PG_ADMIN_URL = os.environ.get("PROCWATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_reason() -> str | None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed"
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}"
    return None


POSTGRES_SKIP = _postgres_reason()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throw-away database on the local PostgreSQL server, dropped at the end of the session."""
    if POSTGRES_SKIP:
        pytest.skip(f"PostgreSQL tests skipped: {POSTGRES_SKIP}")
    name = f"procwatch_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(autouse=True)
def _captures_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's captures (storage.captures) in its own directory, its subprocesses' too: on
    PostgreSQL they would otherwise go to the user's data directory, shared by every test."""
    monkeypatch.setenv("PROCWATCH_CAPTURES", str(tmp_path / "captures"))


def _reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty, migrated store on each backend."""
    if request.param == "sqlite":
        engine = make_engine(str(tmp_path / "test.sqlite3"))
    else:
        url = request.getfixturevalue("postgres_url")
        _reset_postgres(url)
        engine = make_engine(url)
    ensure_schema(engine)
    yield Store(engine)
    engine.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Store:
    engine = make_engine(str(tmp_path / "test.sqlite3"))
    ensure_schema(engine)
    return Store(engine)


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    """The demo mirror's three sites, running on 127.0.0.1, editable by the test."""
    with Mirror() as running:
        yield running


def crawl(mirror: Mirror, store: Store, tmp_path: Path, source_id: str, **options: object) -> CrawlReport:
    """One crawl of one mirror site, without politeness delays."""
    config = load_config(mirror.write_config(tmp_path / "sources.yaml"))

    async def main() -> CrawlReport:
        async with runtime_for(config, store) as runtime:
            return await runtime.fetch(config.get(source_id), **options)

    return asyncio.run(main())


FAST = {"min_delay": 0, "retry_base": 0.01}  # no politeness delays against local servers


def runtime_for(config: Config, store: Store, **fetcher_options: object) -> Runtime:
    """The runtime every command builds, without politeness delays; use with ``async with``."""
    return Runtime(config, store, fetcher_options={**FAST, **fetcher_options})


def feed_catalog(config: Config) -> SourceCatalog:
    """What the feeds know of a configuration, as the runtime gives it to them."""
    return Runtime(config, None).catalog()
