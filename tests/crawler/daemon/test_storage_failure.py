"""A full disk under a running daemon: every crawl fails visibly (health, back-off), and once space
returns the next cycles store everything that was missed."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event

from crawler.daemon.backoff import Backoff
from crawler.daemon.options import DaemonOptions
from crawler.daemon.runner import Daemon
from crawler.demo.mirror import Mirror
from crawler.demo.synthetic import bulk_site
from storage import Store, make_engine
from storage.db import ensure_schema
from tests.conftest import FAST
from tests.support.waiting import until

ARTICLES = 60


def test_a_full_disk_is_a_visible_failure_and_nothing_is_missing_after_space_returns(tmp_path: Path) -> None:
    engine = make_engine(str(tmp_path / "full.sqlite3"))
    ensure_schema(engine)
    with engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar()
    limit = [pages + 12]  # room for a few articles, then "database or disk is full"

    @event.listens_for(engine, "checkout")
    def _cap(dbapi_connection, record, proxy) -> None:  # a disk this size, on every connection handed out
        dbapi_connection.execute(f"PRAGMA max_page_count = {limit[0]}")

    store = Store(engine)
    with Mirror([bulk_site(ARTICLES, per_page=ARTICLES)]) as mirror:
        config = mirror.write_config(tmp_path / "sources.yaml", every="1s")
        options = DaemonOptions(
            serve=False,
            backoff=Backoff(base=timedelta(seconds=1), cap=timedelta(seconds=1)),
            fetcher_options=dict(FAST),
            recheck_every=timedelta(hours=1),
        )
        daemon = Daemon(config, store, options)

        def health() -> dict:
            return daemon.health()["sources"]["bulk"]

        def stored() -> int:
            return store.counts()["articles"]

        async def main() -> None:
            task = asyncio.create_task(daemon.run())
            assert await until(lambda: health()["consecutive_failures"] >= 2, 30), health()
            full = health()
            assert "full" in full["last_error"] and daemon.health()["status"] == "failing"
            assert 0 < stored() < ARTICLES  # some made it before the disk filled
            limit[0] = 1_000_000  # space returns
            assert await until(lambda: stored() == ARTICLES and health()["consecutive_failures"] == 0, 60), (
                stored(),
                health(),
            )
            daemon.stopping.set()
            assert await asyncio.wait_for(task, 15) == 0

        asyncio.run(main())
    versions = store.counts()["versions"]
    assert versions == ARTICLES  # every article once, none doubled by the retries
    engine.dispose()
