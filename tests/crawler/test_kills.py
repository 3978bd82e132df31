"""SIGKILL of `fetch` and `run` while the portal changes and another process reads the archive.

Each round the portal edits two articles and takes one down (off its list and off the site); `fetch`
(or the daemon) is killed at random moments, restarted, and then let finish. Afterwards every article
is stored once, every edit is a version, every removal an event, and SQLite's integrity check is ok,
while a reader (a plain driver connection opened and closed in a loop, and `procwatch article`) ran
the whole time. PROCWATCH_SOAK_ROUNDS raises the number of rounds (two kills each) for a longer soak.
"""

from __future__ import annotations

import functools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from crawler.demo.mirror import Mirror
from crawler.demo.synthetic import bulk_site
from tests.crawler.test_durability import count
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
ARTICLES = 40
ROUNDS = int(os.environ.get("PROCWATCH_SOAK_ROUNDS", "1"))
pytestmark = pytest.mark.timeout(420 * ROUNDS)  # a longer soak is given the time it asks for
KILLS_PER_ROUND = 2

READER = r"""
import subprocess, sys, time
from pathlib import Path
db, url, stop = sys.argv[1], sys.argv[2], Path(sys.argv[3])
reads = 0
while not stop.exists():
    if "://" in db:
        import psycopg
        with psycopg.connect(db.replace("postgresql+psycopg", "postgresql")) as c:
            c.execute("select count(*) from article").fetchone()
    elif Path(db).exists():
        import sqlite3
        c = sqlite3.connect(db)  # opened and closed again and again: the pattern that lost the WAL
        try:
            c.execute("select count(*) from article").fetchone()
        except sqlite3.OperationalError:
            pass  # no schema yet
        c.close()
    if reads % 10 == 0:
        subprocess.run([sys.executable, "-m", "crawler", "article", url, "--db", db, "--json"], capture_output=True)
    reads += 1
    time.sleep(0.05)
print(reads)
"""


@contextmanager
def reader(db: str, url: str, tmp_path: Path) -> Iterator[None]:
    stop = tmp_path / "stop-reading"
    process = subprocess.Popen(
        [sys.executable, "-c", READER, db, url, str(stop)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        yield
    finally:
        stop.touch()
        out, _ = process.communicate(timeout=60)
    assert process.returncode == 0 and int(out) > 0  # it really read throughout


def soak(db: str, tmp_path: Path, command: str, seed: int) -> int:
    """Rounds of portal changes and kills; returns how many kills landed inside a running process."""
    rng = random.Random(seed)
    site = bulk_site(ARTICLES, site_id="soak", per_page=ARTICLES)
    edits: dict[str, int] = {}
    removed: set[str] = set()
    kills = 0
    with Mirror([site]) as mirror:
        mirror.servers["soak"].delay = 0.03  # a crawl takes a second or two: kills land inside it
        config = mirror.write_config(tmp_path / "sources.yaml", every="1s")
        where = ["--config", str(config), "--db", db]
        fetch = [sys.executable, "-m", "crawler", "fetch", "soak", *where]
        daemon = [sys.executable, "-m", "crawler", "run", *where, "--port", "0"]
        process_command = fetch if command == "fetch" else daemon
        subprocess.run(fetch, cwd=ROOT, capture_output=True, check=True, timeout=300)  # the archive exists
        with reader(db, mirror.url("soak", site.articles[0].path), tmp_path):
            for round_ in range(ROUNDS):
                listed = site.articles
                for index in rng.sample(range(1, len(listed) - 1), 2):
                    url = mirror.edit("soak", index, body=listed[index].body + f"\n第{round_}轮补充说明。")
                    edits[url] = edits.get(url, 0) + 1
                gone = rng.randrange(1, len(site.articles) - 1)  # from the middle of the list: a removal
                removed.add(mirror.delist("soak", gone, remove_page=True))
                edits = {url: n for url, n in edits.items() if url not in removed}
                for _ in range(KILLS_PER_ROUND):
                    process = subprocess.Popen(
                        process_command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                    )
                    time.sleep(rng.uniform(0.7, 2.0))
                    if process.poll() is None:
                        kills += 1
                    process.send_signal(signal.SIGKILL)
                    process.wait(30)
                if command == "fetch":
                    done = subprocess.run(fetch, cwd=ROOT, capture_output=True, text=True, timeout=300)
                    assert done.returncode == 0, done.stderr[-2000:]
                else:  # the restarted daemon must catch up by itself
                    running = subprocess.Popen(daemon, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                    try:
                        wait_until(
                            functools.partial(caught_up, db, len(removed), sum(edits.values())),
                            timeout=90,
                            message="the restarted daemon records every edit and removal",
                        )
                    finally:
                        running.send_signal(signal.SIGTERM)
                        running.wait(30)
                if "://" not in db:
                    with sqlite3.connect(db) as connection:
                        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert count(db, "SELECT count(*) FROM article") == ARTICLES
    assert count(db, "SELECT count(DISTINCT url) FROM article") == ARTICLES
    assert removals(db) == len(removed)
    assert edited_versions(db) == sum(edits.values())
    # every version and every removal has its capture, on disk, with its digest: a kill between
    # writing a record and storing its version leaves at most a record nothing points at
    verified = subprocess.run(
        [sys.executable, "-m", "crawler", "verify", "--db", db, "--json"], cwd=ROOT, capture_output=True, text=True
    )
    report = json.loads(verified.stdout)
    assert verified.returncode == 0 and report["ok"], report
    assert report["uncaptured_versions"] == 0 and report["checked"] >= ARTICLES + sum(edits.values()) + len(removed)
    assert count(db, UNCAPTURED_REMOVALS) == 0
    return kills


UNCAPTURED_REMOVALS = (
    "SELECT count(*) FROM event e WHERE e.kind = 'removed'"
    " AND NOT EXISTS (SELECT 1 FROM capture c WHERE c.event_id = e.id)"
)


def caught_up(db: str, removed: int, edited: int) -> bool:
    return removals(db) >= removed and edited_versions(db) >= edited


def removals(db: str) -> int:
    return count(db, "SELECT count(DISTINCT article_id) FROM event WHERE kind = 'removed'")


def edited_versions(db: str) -> int:
    """Versions beyond the first of articles still on the site."""
    return count(
        db,
        "SELECT count(*) FROM article_version v JOIN article a ON a.id = v.article_id "
        "WHERE v.version > 1 AND a.status <> 'removed'",
    )


@pytest.mark.parametrize("command", ["fetch", "run"])
def test_kills_lose_no_article_edit_or_removal_on_sqlite(command: str, tmp_path: Path) -> None:
    kills = soak(str(tmp_path / "soak.sqlite3"), tmp_path, command, seed=11)
    assert kills >= ROUNDS  # the processes really were killed mid-work


@pytest.mark.postgres
@pytest.mark.parametrize("command", ["fetch", "run"])
def test_kills_lose_no_article_edit_or_removal_on_postgres(command: str, postgres_url: str, tmp_path: Path) -> None:
    from tests.conftest import _reset_postgres

    _reset_postgres(postgres_url)
    kills = soak(postgres_url, tmp_path, command, seed=12)
    assert kills >= ROUNDS
