"""The daemon: schedules fire, failing sources back off, SIGHUP reloads, SIGTERM stops cleanly."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

from crawler.daemon.backoff import Backoff
from crawler.daemon.runner import Daemon, DaemonOptions
from storage import Store
from storage.models import SourceState
from tests.support.cli import procwatch
from tests.support.waiting import until, wait_until

ROOT = Path(__file__).resolve().parents[3]
DEAD = "  - {id: dead, name: 无响应, adapter: trs, lists: ['http://127.0.0.1:9/index.shtml'], allow_private: true, schedule: {every: 1s}}\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_daemon_until(condition, config: Path, store: Store, timeout: float = 30, **options: object) -> Daemon:
    """Run a daemon until ``condition()`` holds (polled), then stop it; fail after ``timeout`` seconds."""
    daemon = Daemon(config, store, DaemonOptions(serve=False, **options))  # type: ignore[arg-type]

    async def main() -> None:
        task = asyncio.create_task(daemon.run())
        assert await until(condition, timeout), "the condition never held"
        daemon.stopping.set()
        assert await asyncio.wait_for(task, 15) == 0

    asyncio.run(main())
    return daemon


def test_schedules_fire_and_a_failing_source_backs_off_while_others_succeed(mirror, sqlite_store, tmp_path) -> None:
    config = mirror.write_config(tmp_path / "sources.yaml", every="1s")
    config.write_text(config.read_text().replace("  concurrency: 4", "  concurrency: 4\n  retries: 0") + DEAD)
    list_path = mirror.sites["spp"].list_path
    run_daemon_until(
        # the 1 s schedule fired again and again, the dead source has had its first (jittered) run, and
        # every healthy source has finished a crawl (on a loaded machine the last one may still be running)
        lambda: (
            mirror.servers["spp"].requests[list_path] >= 3
            and sqlite_store.sources.source_state("dead") is not None
            and all(
                (state := sqlite_store.sources.source_state(s)) is not None and state.last_success is not None
                for s in ("spp", "scjcy", "zfw")
            )
        ),
        config,
        sqlite_store,
        backoff=Backoff(base=timedelta(minutes=5)),
    )
    states = sqlite_store.sources.source_states()
    assert states["spp"].consecutive_failures == 0 and states["spp"].last_success is not None
    dead = states["dead"]
    # Scheduled every second like spp, but after its first failure it waits out the 5-minute back-off.
    assert dead.consecutive_failures == 1 and dead.backoff_until is not None
    assert "connection failed" in dead.last_error
    # spp page 1 (2), scjcy (1 + the Traditional repost, linked to the SPP original), zfw (1)
    assert len(sqlite_store.browse.latest_articles(100)) == 4


def test_recovery_after_backoff(mirror, sqlite_store, tmp_path) -> None:
    config = mirror.write_config(tmp_path / "sources.yaml", every="1s")
    list_path = mirror.sites["zfw"].list_path
    saved = mirror.servers["zfw"].remove(list_path)
    daemon = Daemon(config, sqlite_store, DaemonOptions(serve=False, backoff=Backoff(base=timedelta(seconds=1))))

    def state() -> SourceState | None:
        return sqlite_store.sources.source_state("zfw")

    async def main() -> None:
        task = asyncio.create_task(daemon.run())
        assert await until(lambda: state() is not None and state().consecutive_failures >= 1, 20)
        mirror.servers["zfw"].set(list_path, saved)
        assert await until(lambda: state().consecutive_failures == 0, 30)
        daemon.stopping.set()
        await asyncio.wait_for(task, 15)

    asyncio.run(main())
    recovered = state()
    assert recovered.consecutive_failures == 0 and recovered.last_error is None  # recovered by itself


def test_reload_reconciles_jobs_and_keeps_the_old_config_when_invalid(mirror, sqlite_store, tmp_path) -> None:
    config = mirror.write_config(tmp_path / "sources.yaml", every="1h")
    daemon = Daemon(config, sqlite_store, DaemonOptions(serve=False))

    async def main() -> None:
        task = asyncio.create_task(daemon.run())
        assert await until(lambda: daemon.scheduler.running, 10)
        assert {j.id for j in daemon.scheduler.get_jobs()} == {"spp", "scjcy", "zfw", "__recheck__"}
        config.write_text(config.read_text().replace("id: zfw", "id: zfw2").replace("every: 1h", "every: 2h", 1))
        assert await daemon.reload()
        assert {j.id for j in daemon.scheduler.get_jobs()} == {"spp", "scjcy", "zfw2", "__recheck__"}
        assert "interval[2:00:00]" in str(daemon.scheduler.get_job("spp").trigger)
        config.write_text("sources:\n  - id: broken\n    schedule: {every: soon}\n")
        assert not await daemon.reload()
        assert {j.id for j in daemon.scheduler.get_jobs()} == {"spp", "scjcy", "zfw2", "__recheck__"}
        daemon.stopping.set()
        await asyncio.wait_for(task, 15)

    asyncio.run(main())


def start_daemon(config: Path, db: object, *extra: str, port: int) -> subprocess.Popen[str]:
    """`procwatch run` in a subprocess against the mirror, serving on ``port``."""
    command = [sys.executable, "-m", "crawler", "run", "--config", str(config), "--db", str(db), "--port", str(port)]
    return subprocess.Popen([*command, *extra], cwd=ROOT, stderr=subprocess.PIPE, text=True)


def health(port: int) -> dict | None:
    """The daemon's /healthz, or None while it does not answer yet."""
    try:
        return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read())
    except OSError:
        return None


def wait_for_health(port: int, timeout: float = 30) -> dict:
    wait_until(lambda: health(port) is not None, timeout=timeout, message="the daemon answers /healthz")
    answer = health(port)
    assert answer is not None
    return answer


def test_run_serves_feeds_health_metrics_and_exits_0_on_sigterm(mirror, tmp_path) -> None:
    config = mirror.write_config(tmp_path / "sources.yaml", every="1s")
    db = tmp_path / "run.sqlite3"
    port = free_port()
    process = start_daemon(config, str(db), "--log-format", "json", port=port)
    try:
        wait_until(
            lambda: all(s["last_success"] for s in wait_for_health(port)["sources"].values()),
            timeout=20,
            message="every source crawled once",
        )
        state = wait_for_health(port)
        assert set(state["sources"]) == {"spp", "scjcy", "zfw"} and state["sources"]["spp"]["next_run"]
        feed = urllib.request.urlopen(f"http://127.0.0.1:{port}/all.xml").read().decode()
        assert "最高检召开党组会" in feed
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
        assert 'procwatch_new_articles_total{source="spp"} 2.0' in metrics
        assert (
            "procwatch_fetch_seconds_bucket" in metrics and "procwatch_source_last_success_timestamp_seconds" in metrics
        )
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 10
    finally:
        if process.poll() is None:
            process.kill()
    logs = [json.loads(line) for line in process.stderr.read().splitlines() if line.startswith("{")]
    fetches = [entry for entry in logs if entry["logger"] == "procwatch.fetch"]
    assert fetches and {"source", "url", "status", "bytes", "elapsed", "outcome"} <= fetches[0].keys()
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        orphans = connection.execute(
            "SELECT count(*) FROM article a WHERE NOT EXISTS (SELECT 1 FROM article_version v WHERE v.article_id = a.id)"
        ).fetchone()[0]
        assert orphans == 0


def test_sighup_reload_in_a_running_daemon(mirror, tmp_path) -> None:
    config = mirror.write_config(tmp_path / "sources.yaml", every="1h")
    port = free_port()
    process = start_daemon(config, str(tmp_path / "h.sqlite3"), port=port)
    try:
        assert set(wait_for_health(port)["sources"]) == {"spp", "scjcy", "zfw"}
        config.write_text(config.read_text().replace("id: zfw", "id: gszf"))
        process.send_signal(signal.SIGHUP)
        reloaded = {"spp", "scjcy", "gszf"}
        wait_until(lambda: set(wait_for_health(port)["sources"]) == reloaded, timeout=10, message="the reload")
        config.write_text("sources: [oops\n")
        process.send_signal(signal.SIGHUP)
        wait_until(lambda: wait_for_health(port)["reload_error"], timeout=10, message="the failed reload in /healthz")
        health = wait_for_health(port)
        assert process.poll() is None and set(health["sources"]) == {"spp", "scjcy", "gszf"}
        assert "sources.yaml" in health["reload_error"] and health["status"] != "ok"  # never hidden
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert "reload failed, keeping the previous configuration" in process.stderr.read()


def test_an_invalid_config_stops_run_with_exit_2(tmp_path) -> None:
    bad = tmp_path / "sources.yaml"
    bad.write_text("sources:\n  - {id: x, name: x, adapter: nope, lists: ['http://a.b/'], schedule: {every: 1h}}\n")
    result = procwatch("run", "--config", str(bad), "--db", str(tmp_path / "x.sqlite3"))
    assert result.returncode == 2 and "sources[0].adapter: unknown adapter 'nope'" in result.stderr


def test_a_cron_source_is_scheduled_for_its_next_time_not_paused(mirror, sqlite_store, tmp_path) -> None:
    config = mirror.write_config(tmp_path / "sources.yaml", every="1h")
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("schedule: {every: 1h}", 'schedule: {cron: "* * * * *"}', 1), encoding="utf-8")
    daemon = Daemon(config, sqlite_store, DaemonOptions(serve=False))
    seen: dict = {}

    async def main() -> None:
        task = asyncio.create_task(daemon.run())
        assert await until(lambda: daemon.scheduler.running, 10)
        seen.update(daemon.health()["sources"])
        daemon.stopping.set()
        assert await asyncio.wait_for(task, 15) == 0

    asyncio.run(main())
    cron_source = next(iter(mirror.sites))  # the first source got the cron schedule
    next_run = datetime.fromisoformat(seen[cron_source]["next_run"])
    assert 0 < (next_run - datetime.now(next_run.tzinfo)).total_seconds() <= 61  # the next full minute


def test_sigterm_lets_a_slow_crawl_in_flight_finish_within_the_grace_period(mirror, sqlite_store, tmp_path) -> None:
    config = mirror.write_config(tmp_path / "sources.yaml", every="1h")
    for server in mirror.servers.values():
        server.delay = 0.4  # every answer takes 0.4 s: a crawl is still running when SIGTERM comes
    daemon = Daemon(config, sqlite_store, DaemonOptions(serve=False, shutdown_timeout=20))

    async def main() -> None:
        task = asyncio.create_task(daemon.run())
        assert await until(lambda: daemon.inflight, 15), "no crawl started"
        daemon.stopping.set()  # what SIGTERM does
        assert await asyncio.wait_for(task, 30) == 0

    asyncio.run(main())
    states = sqlite_store.sources.source_states()
    finished = [sid for sid, state in states.items() if state.last_success is not None]
    assert finished, "the crawls in flight were cut off instead of finishing"
    assert all(state.consecutive_failures == 0 for state in states.values())
    assert sqlite_store.browse.latest_articles(100)  # what they fetched was stored


def test_health_is_answered_while_a_huge_list_page_is_parsed(mirror, sqlite_store, tmp_path) -> None:
    import httpx

    from crawler.demo.server import Page

    site = mirror.sites["spp"]
    links = "".join(
        f'<li><a href="/spp/xwfbh/202407/t20240709_{i}.shtml">标题{i}</a> <span>2024-07-09</span></li>'
        for i in range(20_000)
    )
    mirror.servers["spp"].set(site.list_path, Page(f"<html><body><ul>{links}</ul></body></html>".encode()))
    config = mirror.write_config(tmp_path / "sources.yaml", every="1h")
    port = free_port()
    daemon = Daemon(
        config, sqlite_store, DaemonOptions(port=port, recheck_every=timedelta(hours=1), shutdown_timeout=1)
    )
    answered: list[float] = []

    async def main() -> None:
        task = asyncio.create_task(daemon.run())
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            await until(lambda: daemon.inflight, 20)
            while daemon.inflight and len(answered) < 10:  # a sample of answers while the page is parsed
                started = asyncio.get_running_loop().time()
                assert (await client.get("/healthz")).status_code == 200  # a 5 s timeout would raise
                answered.append(asyncio.get_running_loop().time() - started)
                await asyncio.sleep(0.1)
        daemon.stopping.set()
        assert await asyncio.wait_for(task, 30) == 0

    asyncio.run(main())
    assert answered, "no crawl was in flight to poll during"
