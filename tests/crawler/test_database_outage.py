"""A PostgreSQL database that drops its connections or stops answering, under the daemon's runtime:
each source's run fails, counted and backed off, and health answers saying why, never hanging."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from crawler.config import load_config
from crawler.daemon.backoff import Backoff
from crawler.demo.mirror import Mirror
from crawler.runtime import Runtime
from storage import Store, make_engine
from storage.db import ensure_schema
from tests.conftest import FAST, _reset_postgres, runtime_for
from tests.support.proxy import TcpProxy

pytestmark = pytest.mark.postgres


@pytest.fixture
def proxied(postgres_url: str):
    _reset_postgres(postgres_url)
    url = make_url(postgres_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    try:
        yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    finally:
        proxy.close()


def test_a_dropped_database_fails_each_run_counted_and_backed_off(proxied, mirror: Mirror, tmp_path: Path) -> None:
    proxy, url = proxied
    engine = make_engine(url)
    ensure_schema(engine)
    config = load_config(mirror.write_config(tmp_path / "sources.yaml"))
    source_id = config.enabled_sources[0].id

    async def main() -> dict:
        async with Runtime(config, Store(engine), fetcher_options=FAST, backoff=Backoff()) as runtime:
            assert (await runtime.crawl(source_id)) is not None  # a healthy first run
            proxy.close()  # the pooled connections are gone, and new ones are refused
            for _ in range(3):  # the scheduler's next runs: none raises into it
                assert (await runtime.crawl(source_id, respect_backoff=False)) is None
            assert (await runtime.crawl(source_id)) is None  # backing off: not even the database is asked
            return await asyncio.to_thread(runtime.health, lambda ids: {})

    health = asyncio.run(main())
    engine.dispose()
    assert health["status"] == "failing" and health["database_error"]
    assert health["sources"][source_id]["consecutive_failures"] >= 3
    assert health["sources"][source_id]["backoff_until"] is not None


def test_health_answers_when_the_database_says_nothing(proxied, mirror: Mirror, tmp_path: Path) -> None:
    proxy, url = proxied
    engine = make_engine(url)
    ensure_schema(engine)
    config = load_config(mirror.write_config(tmp_path / "sources.yaml"))

    async def main() -> tuple[dict, float]:
        async with runtime_for(config, Store(engine)) as runtime:
            proxy.frozen.set()  # connections stay open, but every query waits for ever
            started = time.monotonic()
            health = await asyncio.to_thread(runtime.health, lambda ids: {})
            return health, time.monotonic() - started

    health, took = asyncio.run(main())
    proxy.frozen.clear()
    proxy.cut()
    engine.dispose()
    assert took < 15
    assert health["status"] == "failing" and "did not answer" in health["database_error"]
