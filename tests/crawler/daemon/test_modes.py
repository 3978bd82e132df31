"""The embedded daemon and cluster mode pass the same behaviour tests: crawls on schedule, feeds
output, health (failures shown, only configured sources), the re-check job, SIGHUP reload with a
fetcher rebuilt for changed settings. Cluster mode runs two workers against the local PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from crawler.daemon.options import DaemonOptions
from crawler.daemon.runner import Daemon
from crawler.daemon.service import Service
from storage import Store, make_engine
from storage.db import ensure_schema
from tests.conftest import FAST
from tests.support.waiting import until

DEAD = "  - {id: dead, name: 无响应, adapter: trs, lists: ['http://127.0.0.1:9/index.shtml'], allow_private: true, schedule: {every: 1s}}\n"
RECHECK_ALWAYS = "  recheck:\n    - {younger_than: 36500d, every: 1s}\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Mode:
    name: str
    store: Store
    build: Callable[[Path, DaemonOptions], list[Service]]  # the first one serves HTTP


@pytest.fixture(params=["embedded", pytest.param("cluster", marks=pytest.mark.postgres)])
def mode(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Mode]:
    if request.param == "embedded":
        engine = make_engine(str(tmp_path / "modes.sqlite3"))
        ensure_schema(engine)
        yield Mode("embedded", Store(engine), lambda config, options: [Daemon(config, Store(engine), options)])
        engine.dispose()
        return
    pytest.importorskip("procrastinate", reason="procrastinate is not installed (pip install 'procwatch[postgres]')")
    from crawler.daemon.cluster import ClusterWorker, apply_schema
    from tests.conftest import _reset_postgres

    url = request.getfixturevalue("postgres_url")
    _reset_postgres(url)
    engine = make_engine(url)
    ensure_schema(engine)
    apply_schema(engine)

    def build(config: Path, options: DaemonOptions) -> list[Service]:
        quiet = DaemonOptions(**{**options.__dict__, "serve": False})  # one HTTP server per test
        tick = timedelta(seconds=1)
        return [
            ClusterWorker(config, Store(engine), options, tick=tick),
            ClusterWorker(config, Store(engine), quiet, tick=tick),
        ]

    yield Mode("cluster", Store(engine), build)
    engine.dispose()


@asynccontextmanager
async def running(mode: Mode, config: Path, **options: Any):
    """The mode's services running in this event loop; stopped (and checked to exit 0) on leaving."""
    settings = DaemonOptions(
        port=free_port(), recheck_every=timedelta(seconds=1), fetcher_options=dict(FAST), **options
    )
    services = mode.build(config, settings)
    # started last, the serving service owns this process's signal handlers (one per signal and loop)
    tasks = [asyncio.create_task(service.run()) for service in reversed(services)]
    try:
        yield services, f"http://127.0.0.1:{settings.port}"
    finally:
        for service in services:
            service.stopping.set()
        codes = await asyncio.wait_for(asyncio.gather(*tasks), 30)
        assert codes == [0] * len(services)


def all_crawled(store: Store, ids: set[str]) -> Callable[[], bool]:
    def check() -> bool:
        states = store.sources.source_states()
        return all(i in states and states[i].last_success is not None for i in ids)

    return check


def dead_failed(store: Store) -> bool:
    state = store.sources.source_states().get("dead")
    return state is not None and state.consecutive_failures > 0


def test_crawls_serve_feeds_write_feeds_out_and_report_health(mode: Mode, mirror, tmp_path: Path) -> None:
    config = mirror.write_config(tmp_path / "sources.yaml", every="1s")
    config.write_text(config.read_text() + DEAD)
    out = tmp_path / "feeds"

    async def main() -> None:
        async with running(mode, config, feeds_out=out) as (services, base), httpx.AsyncClient(base_url=base) as client:
            assert await until(all_crawled(mode.store, {"spp", "scjcy", "zfw"}), 30, in_thread=True)
            assert await until(
                lambda: (out / "all.xml").exists() and "最高检召开党组会" in (out / "all.xml").read_text(), 20
            )
            # its failure recorded (in cluster mode the scheduler makes the row, with its next run, first)
            assert await until(lambda: dead_failed(mode.store), 20, in_thread=True)
            health = (await client.get("/healthz")).json()
            assert health["mode"] == mode.name and set(health["sources"]) == {"spp", "scjcy", "zfw", "dead"}
            assert health["status"] == "failing" and health["failing_sources"] == 1
            assert "connection failed" in health["sources"]["dead"]["last_error"]
            assert health["sources"]["spp"]["last_success"].endswith("+08:00")  # Beijing time throughout
            assert "最高检召开党组会" in (await client.get("/all.xml")).text
            metrics = await client.get("/metrics")  # at /metrics itself, not a redirect to /metrics/
            assert metrics.status_code == 200 and "# TYPE procwatch_crawls_total counter" in metrics.text
            # each worker counts its own crawls; together they stored spp's two articles once
            spp = 'procwatch_new_articles_total{source="spp"} '
            counted = [line for s in services for line in s.runtime.metrics.exposition()[0].decode().splitlines()]
            assert sum(float(line.removeprefix(spp)) for line in counted if line.startswith(spp)) == 2

    asyncio.run(main())


def test_the_recheck_job_finds_an_edit_of_a_known_article(mode: Mode, mirror, tmp_path: Path) -> None:
    config = mirror.write_config(tmp_path / "sources.yaml", every="1h")  # list pages once: edits come from re-checks
    config.write_text(config.read_text().replace("settings:\n", "settings:\n" + RECHECK_ALWAYS, 1))

    async def main() -> None:
        async with running(mode, config):
            assert await until(all_crawled(mode.store, {"spp", "scjcy", "zfw"}), 30, in_thread=True)
            url = mirror.edit("spp", 0, body=mirror.article("spp", 0).body + "\n(本文有更新)会议还研究了其他事项。")

            def edited() -> bool:
                found = mode.store.history.get_article(url)
                return found is not None and len(found.versions) == 2

            assert await until(edited, 30, in_thread=True), "the re-check job never found the edit"

    asyncio.run(main())


def test_sighup_reloads_sources_and_rebuilds_the_fetcher(mode: Mode, mirror, tmp_path: Path) -> None:
    config = mirror.write_config(tmp_path / "sources.yaml", every="1h")

    async def main() -> None:
        async with running(mode, config) as (services, base), httpx.AsyncClient(base_url=base) as client:
            assert await until(all_crawled(mode.store, {"spp", "scjcy", "zfw"}), 30, in_thread=True)
            service = services[0]
            before = service.runtime.fetcher
            text = (
                config.read_text()
                .replace("id: zfw", "id: gszf")
                .replace("concurrency: 4", "concurrency: 4\n  user_agent: procwatch-test/2")
            )
            config.write_text(text)
            os.kill(os.getpid(), signal.SIGHUP)
            for other in services[1:]:  # a second worker is a second process in real life, with its own SIGHUP
                await other.reload()

            async def sources() -> set[str]:
                return set((await client.get("/healthz", headers={"Cache-Control": "no-cache"})).json()["sources"])

            async def reloaded() -> bool:
                return await sources() == {"spp", "scjcy", "gszf"}

            assert await until(reloaded, 20)  # removed sources leave health too
            assert service.runtime.fetcher is not before and service.runtime.fetcher.user_agent == "procwatch-test/2"
            assert await until(all_crawled(mode.store, {"gszf"}), 30, in_thread=True)  # the new source is crawled
            config.write_text("sources: [oops\n")
            assert not await service.reload()  # an invalid file keeps the running configuration
            assert await sources() == {"spp", "scjcy", "gszf"}

    asyncio.run(main())
