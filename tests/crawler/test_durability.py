"""Crash safety (SIGKILL at random points, restart until done) and concurrent writers on one SQLite file."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from crawler.demo.mirror import Mirror, default_sites
from crawler.demo.synthetic import bulk_site
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
ARTICLES, KILLS = 200, 4


def fetch_command(config: Path, db: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "crawler",
        "fetch",
        "bulk",
        "--backfill",
        "20",
        "--config",
        str(config),
        "--db",
        db,
        *extra,
    ]


def crash_until_done(config: Path, db: str, seed: int) -> list[float]:
    """Run the fetch, SIGKILL it at random moments, restart, until a run completes."""
    rng = random.Random(seed)
    kill_points = []
    for _ in range(KILLS):
        process = subprocess.Popen(
            fetch_command(config, db), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        delay = rng.uniform(0.8, 2.5)  # start-up takes about half a second; then articles are being written
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kill_points.append(round(delay, 2))
        process.wait(30)
    final = subprocess.run(fetch_command(config, db, "--json"), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    return kill_points


def check_exactly_once(url: str) -> None:
    engine = create_engine(url)
    with engine.connect() as connection:
        one = lambda sql: connection.execute(text(sql)).scalar()  # noqa: E731
        assert one("SELECT count(*) FROM article") == ARTICLES
        assert one("SELECT count(DISTINCT url) FROM article") == ARTICLES
        assert one("SELECT count(*) FROM article_version") == ARTICLES  # one version each: nothing doubled
        assert one("SELECT count(*) FROM article WHERE version_count <> 1 OR current_version <> 1") == 0
        assert one("SELECT count(*) FROM event WHERE kind = 'published'") == ARTICLES
        assert (
            one(
                "SELECT count(*) FROM article a WHERE NOT EXISTS "
                "(SELECT 1 FROM article_version v WHERE v.article_id = a.id)"
            )
            == 0
        )
        assert one("SELECT count(*) FROM article_signature") == ARTICLES
        assert one("SELECT count(*) FROM signature_band") == ARTICLES * 16
    engine.dispose()


@pytest.fixture
def bulk_mirror():
    with Mirror([*default_sites(), bulk_site(ARTICLES)]) as mirror:
        yield mirror


def test_sigkill_at_random_points_loses_and_doubles_nothing_on_sqlite(bulk_mirror, tmp_path) -> None:
    config = bulk_mirror.write_config(tmp_path / "sources.yaml")
    db = tmp_path / "crash.sqlite3"
    kills = crash_until_done(config, str(db), seed=1)
    assert len(kills) >= 2, kills  # the fetch really was interrupted
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check_exactly_once(f"sqlite:///{db}")


@pytest.mark.postgres
def test_sigkill_at_random_points_loses_and_doubles_nothing_on_postgres(bulk_mirror, postgres_url, tmp_path) -> None:
    from tests.conftest import _reset_postgres

    _reset_postgres(postgres_url)
    config = bulk_mirror.write_config(tmp_path / "sources.yaml")
    kills = crash_until_done(config, postgres_url, seed=2)
    assert len(kills) >= 2, kills
    check_exactly_once(postgres_url)


def crawled_since(db: str, moment: float) -> bool:
    """The daemon recorded a crawl (of any source) after ``moment`` (a Unix time)."""
    from datetime import UTC, datetime

    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
            row = connection.execute("SELECT max(last_checked) FROM source_state").fetchone()
    except sqlite3.Error:  # not created yet
        return False
    if not row or row[0] is None:
        return False
    return datetime.fromisoformat(row[0]).replace(tzinfo=UTC).timestamp() > moment


def test_fetch_while_the_daemon_writes_to_the_same_sqlite_file(bulk_mirror, tmp_path) -> None:
    config = bulk_mirror.write_config(tmp_path / "sources.yaml", every="1s")
    db = str(tmp_path / "shared.sqlite3")
    # its log goes to a file: a pipe nobody reads until the end fills (64 kB of fetch lines) and
    # blocks the daemon in the middle of a log call, which is what once failed this test
    log_file = (tmp_path / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "crawler", "run", "--config", str(config), "--db", db, "--port", "0"],
        cwd=ROOT,
        stderr=log_file,
        text=True,
    )
    try:
        wait_until(lambda: crawled_since(db, 0.0), timeout=30, message="the daemon's first crawl")
        writers = [
            subprocess.Popen(
                fetch_command(config, db), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
            for _ in range(3)
        ]
        results = [(w.wait(300), w.stderr.read()) for w in writers]
        after = time.time()
        wait_until(lambda: crawled_since(db, after), timeout=30, message="a daemon crawl after the writers")
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(20) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
    log_file.close()
    daemon_log = (tmp_path / "daemon.log").read_text()
    for code, stderr in results:
        assert code == 0 and "locked" not in stderr, stderr[-2000:]
    assert "database is locked" not in daemon_log and "Traceback" not in daemon_log, daemon_log[-2000:]
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        bulk = connection.execute("SELECT count(*) FROM article WHERE source_id = 'bulk'").fetchone()[0]
        versions = connection.execute(
            "SELECT count(*) FROM article_version v JOIN article a ON a.id = v.article_id WHERE a.source_id = 'bulk'"
        ).fetchone()[0]
    assert bulk == ARTICLES and versions == ARTICLES  # three writers and a daemon: each article once


STATIC, DAEMON_KILLS, EDITED = 40, 5, (3, 17, 31)


def daemon_crash_run(db: str, tmp_path: Path, seed: int) -> None:
    """A portal that publishes nothing new after the start: the daemon (conditional list requests) is
    SIGKILLed at random points ten times, then one steady-state crawl must find every article; three
    articles are edited and `fetch` (which re-checks them) is killed a few times, then one run must
    find every edit. Validators kept before what they vouch for made the list, or the edited page,
    answer 304 for content that was never stored."""
    site = bulk_site(STATIC, site_id="static", per_page=STATIC)
    with Mirror([site]) as mirror:
        mirror.servers["static"].delay = 0.03  # a crawl takes a couple of seconds: kills land inside it
        config = mirror.write_config(tmp_path / "sources.yaml", every="1s")
        rng = random.Random(seed)
        base = [sys.executable, "-m", "crawler"]
        where = ["--config", str(config), "--db", db]

        def kill_at_random(command: list[str], times: int) -> None:
            for _ in range(times):
                process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(rng.uniform(0.6, 2.2))
                process.send_signal(signal.SIGKILL)
                process.wait(30)

        def run(*args: str) -> None:
            done = subprocess.run([*base, *args, *where], cwd=ROOT, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr

        kill_at_random([*base, "run", *where, "--port", "0"], DAEMON_KILLS)
        run("fetch", "static", "--no-recheck")  # what the daemon's next cycle does: the list, conditionally
        assert count(db, "SELECT count(*) FROM article WHERE source_id = 'static'") == STATIC
        for index in EDITED:
            mirror.edit("static", index, body=mirror.article("static", index).body + f"\n补充说明第{index}条。")
        kill_at_random([*base, "fetch", "static", *where], 4)
        run("fetch", "static")
    assert count(db, "SELECT count(*) FROM article WHERE source_id = 'static' AND version_count = 2") == len(EDITED)
    assert count(db, "SELECT count(*) FROM article_version") == STATIC + len(EDITED)


def count(db: str, sql: str) -> int:
    engine = create_engine(db if "://" in db else f"sqlite:///{db}")
    with engine.connect() as connection:
        value = connection.execute(text(sql)).scalar()
    engine.dispose()
    return int(value or 0)


def test_a_daemon_killed_at_random_points_loses_no_article_and_no_edit_on_sqlite(tmp_path) -> None:
    db = tmp_path / "daemon-crash.sqlite3"
    daemon_crash_run(str(db), tmp_path, seed=3)
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.postgres
def test_a_daemon_killed_at_random_points_loses_no_article_and_no_edit_on_postgres(postgres_url, tmp_path) -> None:
    from tests.conftest import _reset_postgres

    _reset_postgres(postgres_url)
    daemon_crash_run(postgres_url, tmp_path, seed=4)


def test_a_removal_survives_a_sigkill_right_after_the_list_snapshot_is_written(tmp_path) -> None:
    """The article that left the list must be checked by a later run even when the run that saw it
    leave was killed before checking it (the list snapshot no longer shows it)."""
    import asyncio

    from tests.support.waiting import until

    with Mirror(default_sites()) as mirror:
        config = mirror.write_config(tmp_path / "sources.yaml")
        db = str(tmp_path / "removals.sqlite3")
        command = [sys.executable, "-m", "crawler", "fetch", "spp", "--config", str(config), "--db", db]
        first = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stderr
        gone = mirror.delist("spp", 0, remove_page=True)  # off the list, older ones stay: taken down
        server, path = mirror.servers["spp"], gone.split(str(mirror.servers["spp"].base_url), 1)[1]
        server.requests.clear()
        server.delay = 5.0  # every answer waits: the kill lands while the removed page is being asked for
        process = subprocess.Popen(
            [*command, "--no-recheck"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            # the list was read and its snapshot written before the vanished article is requested
            assert asyncio.run(until(lambda: server.requests[path] > 0, 60)), dict(server.requests)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(30)
        server.delay = 0.0
        later = subprocess.run(
            [*command, "--no-recheck", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert later.returncode == 0, later.stderr
        with sqlite3.connect(db) as connection:
            (status,) = connection.execute("SELECT status FROM article WHERE url = ?", (gone,)).fetchone()
        assert status == "removed"
