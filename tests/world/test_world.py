"""Acceptance: procwatch crawls a simulated world of portals over simulated weeks, with a reader beside it
and the crawler killed (SIGKILL) and restarted; the archive must hold everything the world served."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from crawler.demo.world import World, compare
from crawler.runtime import load
from storage import Store, open_database

ROOT = Path(__file__).resolve().parents[2]
DAYS, KILL_DAYS = 21, (6, 13)


def reader(db: Path, world: World) -> subprocess.Popen[str]:
    """A second process reading the archive the whole time: counts and one article's JSON, in a loop."""
    url = next(iter(world.truth))
    script = (
        "import sqlite3, subprocess, sys, time\n"
        f"db, url = {str(db)!r}, {url!r}\n"
        "end = time.monotonic() + 300\n"
        "while time.monotonic() < end:\n"
        "    try:\n"
        "        c = sqlite3.connect(db, timeout=5); c.execute('select count(*) from article_version').fetchone(); c.close()\n"
        "    except sqlite3.OperationalError as e:\n"
        "        if 'no such table' not in str(e): print('reader:', e, file=sys.stderr)\n"
        "    time.sleep(0.05)\n"
    )
    return subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stderr=subprocess.PIPE, text=True)


def kill_a_daemon(config: Path, db: Path, seconds: float) -> None:
    """The daemon crawls the world as it stands, and is killed (SIGKILL) mid-way."""
    daemon = subprocess.Popen(
        [sys.executable, "-m", "crawler", "run", "--config", str(config), "--db", str(db), "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(seconds)
    daemon.send_signal(signal.SIGKILL)
    daemon.wait(30)


def test_the_archive_holds_everything_the_world_served_through_kills_and_a_reader(tmp_path: Path) -> None:
    db = tmp_path / "world.sqlite3"
    with World(seed=11, days=DAYS) as world:
        config_path = world.write_config(tmp_path / "sources.yaml")
        config = load(config_path)
        store = Store(open_database(str(db)))
        world.advance(timedelta(days=1))
        asyncio.run(world.crawl(config, store, backfill=3))  # the archive exists before the reader starts
        watcher = reader(db, world)
        kills = 0
        try:
            for day in range(1, DAYS):
                world.advance(timedelta(days=1))
                if day in KILL_DAYS:
                    kill_a_daemon(config_path, db, 2.5)
                    kills += 1
                asyncio.run(world.crawl(config, store))
        finally:
            watcher.kill()
        verdict = compare(world, store)
        served = world.figures()
    print(f"\nworld served {served}; archive holds {verdict.held}; kills survived {kills}")
    for band, delay in sorted(verdict.delays.items()):
        print(f"largest delay edit -> record, article age {band}: {delay}")
    assert watcher.stderr is not None and "reader:" not in watcher.stderr.read()
    assert served["edits"] >= 5 and served["removals"] >= 2 and served["republications"] >= 2
    assert verdict.problems == []
    # an edit of a listed article is recorded by the next crawl (one a day); of any other, within the
    # re-check bound (settings.recheck_within), as the README's change-tracking table promises
    bound = config.settings.recheck_within
    assert all(
        delay <= (timedelta(days=1) if band.endswith(", listed") else bound) for band, delay in verdict.delays.items()
    ), verdict.delays
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
