"""Acceptance: procwatch crawls a simulated world of portals over simulated weeks, on SQLite (the
embedded daemon) and on PostgreSQL (cluster workers), while readers use the archive through the CLI,
the web view and the feeds, and the daemon is killed (SIGKILL) mid-crawl and restarted; then the
archive must hold everything the world served, every edit within the bound the README states, and a
webhook on 127.0.0.1 must have been told of every publication, edit, removal and restoration after
the first crawl, through the kills (a kill in the middle of a send may repeat that one message)."""

from __future__ import annotations

import asyncio
import signal
import socket
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from crawler.demo.world import World, compare
from crawler.notify.notifier import SENDS_AT_ONCE
from crawler.runtime import load
from storage import Store, open_database
from tests.support.receivers import WebhookReceiver
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
DAYS, KILL_DAYS = 21, (6, 13)
PAGES = ("/", "/all.xml", "/changes.xml", "/articles.json", "/campaigns", "/sources.json")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def readers(db: str, config: Path, url: str, port: int) -> list[subprocess.Popen[str]]:
    """Processes using the archive the whole time: ``procwatch serve`` with a client reading the web view
    and the feeds, ``procwatch article URL --json`` in a loop, and (SQLite) a plain driver connection
    opened and closed in a loop. Anything unexpected goes to stderr as ``reader: ...``."""
    server = subprocess.Popen(
        [sys.executable, "-m", "crawler", "serve", "--config", str(config), "--db", db, "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    script = f"""
import sqlite3, subprocess, sys, time, urllib.error, urllib.request
db, url, base = {db!r}, {url!r}, "http://127.0.0.1:{port}"
end = time.monotonic() + 600
started = False  # the server answered once: from then on a refused connection is a failure
while time.monotonic() < end:
    shown = subprocess.run([sys.executable, "-m", "crawler", "article", url, "--db", db, "--json"], capture_output=True, text=True)
    if shown.returncode != 0 or url not in shown.stdout:
        print("reader: procwatch article:", shown.returncode, shown.stderr.strip()[:300], file=sys.stderr)
    for page in {PAGES!r}:
        try:
            with urllib.request.urlopen(base + page, timeout=30) as answer:
                answer.read()
                started = True
        except urllib.error.URLError as exc:
            if started or not isinstance(exc.reason, ConnectionRefusedError):
                print("reader:", page, exc, file=sys.stderr)
        except Exception as exc:
            print("reader:", page, exc, file=sys.stderr)
    if not db.startswith("postgresql"):
        try:
            c = sqlite3.connect(db, timeout=5); c.execute("select count(*) from article_version").fetchone(); c.close()
        except sqlite3.OperationalError as exc:
            print("reader: sqlite3:", exc, file=sys.stderr)
"""
    client = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    return [server, client]


def kill_a_daemon(world: World, config: Path, db: str, *, cluster: bool) -> None:
    """The daemon crawls the world as it stands, and is killed (SIGKILL) once it is mid-crawl."""
    sent = sum(sum(server.requests.values()) for server in world.mirror.servers.values())
    command = [sys.executable, "-m", "crawler", "run", "--config", str(config), "--db", db, "--port", "0"]
    daemon = subprocess.Popen(
        command + (["--cluster", "--tick", "1s"] if cluster else []),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    requests = lambda: sum(sum(server.requests.values()) for server in world.mirror.servers.values())  # noqa: E731
    wait_until(lambda: requests() >= sent + 8, timeout=60, message="the daemon crawls")
    daemon.send_signal(signal.SIGKILL)
    daemon.wait(30)


def baseline_of(store: Store) -> tuple[int, set[str]]:
    """After the first crawl: the last event id, and the sources that crawl read (whose later
    publications are news; a source first read later has its own first crawl, which is not)."""
    from sqlalchemy import func, select

    from storage.models import Event

    with store.engine.connect() as connection:
        last = connection.execute(select(func.max(Event.id))).scalar() or 0  # type: ignore[arg-type]
    states = store.sources.source_states()
    return last, {source_id for source_id, state in states.items() if state.last_success is not None}


def check_notifications(store: Store, config: object, hook: WebhookReceiver, baseline: tuple[int, set[str]]) -> int:
    """Send what the killed daemons left (as the next daemon would), then hold the outbox to the
    archive's events and the webhook to the outbox; returns the messages a kill repeated."""
    from collections import Counter

    from sqlalchemy import select

    from crawler.notify.notifier import Notifier
    from storage.models import Article, Event, Outbox

    last, read_at_first = baseline
    notifier = Notifier(store, lambda: config)  # type: ignore[arg-type, return-value]

    async def drain() -> None:
        while await notifier.round() or any(r.status != "sent" for r in store.outbox.log(limit=10_000)):
            await asyncio.sleep(0.2)  # a claim of a killed daemon runs out after the lease

    asyncio.run(asyncio.wait_for(drain(), 120))
    with store.engine.connect() as connection:
        events = connection.execute(
            select(Event.id, Event.kind, Article.source_id)  # type: ignore[call-overload]
            .join(Article, Article.id == Event.article_id)
            .where(Event.id > last, Event.reported.is_(True))  # type: ignore[attr-defined]
        ).all()
        told = {row.event_id: row.id for row in connection.execute(select(Outbox)) if row.event_id is not None}
    expected = {
        event_id
        for event_id, kind, source_id in events
        if kind in ("edited", "removed", "restored") or (kind == "published" and source_id in read_at_first)
    }
    assert expected and expected <= set(told), sorted(expected - set(told))[:10]  # recorded with what it tells
    log = store.outbox.log(limit=100_000)
    assert len(log) == len(told) and {r.status for r in log} == {"sent"}  # one delivery each, all sent
    numbers = Counter(int(p["message"].rsplit("procwatch #", 1)[1].split(" ")[0]) for p in hook.received)
    assert set(numbers) == set(told.values())  # every entry told, none made up
    return sum(count - 1 for count in numbers.values())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "world.sqlite3")
    from tests.conftest import _reset_postgres

    url: str = request.getfixturevalue("postgres_url")
    _reset_postgres(url)
    upgrade = [sys.executable, "-m", "crawler", "db", "upgrade", "--db", url]  # with procrastinate's tables
    done = subprocess.run(upgrade, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return url


def test_the_archive_holds_everything_the_world_served_through_kills_and_readers(database: str, tmp_path: Path) -> None:
    cluster = database.startswith("postgresql")
    with World(seed=11, days=DAYS) as world, WebhookReceiver() as hook:
        config_path = world.write_config(tmp_path / "sources.yaml")
        # simulated weeks pass in minutes: an article of the world's first day is three weeks old by the
        # clock when it is found, so news_within is set past the world's age
        notify = f"""notify:
  news_within: 3650d
  lease: 5s
  retry: 1s
  destinations: {{hook: "{hook.url}"}}
  rules:
    - {{name: everything, to: [hook]}}
"""
        config_path.write_text(config_path.read_text(encoding="utf-8") + notify, encoding="utf-8")
        config = load(config_path)
        store = Store(open_database(database))
        world.advance(timedelta(days=1))
        asyncio.run(world.crawl(config, store, backfill=3))  # the archive exists before the readers start
        baseline = baseline_of(store)
        watchers = readers(database, config_path, next(iter(world.truth)), free_port())
        kills = 0
        try:
            for day in range(1, DAYS):
                world.advance(timedelta(days=1))
                if day in KILL_DAYS:
                    kill_a_daemon(world, config_path, database, cluster=cluster)
                    kills += 1
                asyncio.run(world.crawl(config, store))
                states = store.sources.source_states()
                for url, source_id in world.unreadable().items():  # health names each failing page
                    assert url in (states[source_id].last_error or ""), (url, states[source_id].last_error)
        finally:
            for watcher in watchers:
                watcher.kill()
        verdict = compare(world, store)
        served = world.figures()
        repeats = check_notifications(store, config, hook, baseline)
    print(f"\n{'cluster on PostgreSQL' if cluster else 'SQLite'}: world served {served}")
    print(f"archive holds {verdict.held}; kills survived {kills}; webhook messages repeated by a kill: {repeats}")
    for band, delay in sorted(verdict.delays.items()):
        print(f"largest delay edit -> record, article age {band}: {delay}")
    complaints = [
        line for watcher in watchers for line in (watcher.stderr.read() if watcher.stderr else "").splitlines()
    ]
    assert [line for line in complaints if line.startswith("reader:")] == []
    assert served["edits"] >= 5 and served["removals"] >= 2 and served["restorations"] >= 1
    assert served["republications"] >= 2 and served["unreadable_pages"] >= 2
    assert verdict.problems == []
    # an edit of a listed article is recorded by the next crawl (one a day); of any other, within the
    # re-check bound (settings.recheck_within), as the README's change-tracking table promises
    bound = config.settings.recheck_within
    late = {
        band: delay
        for band, delay in verdict.delays.items()
        if delay > (timedelta(days=1) if band.endswith(", listed") else bound)
    }
    assert late == {}
    assert repeats <= kills * SENDS_AT_ONCE  # at most the sends in flight when a daemon was killed
    # the evidence promise: every version and removal kept as served, through the kills
    evidence = store.evidence.verify()
    assert evidence.ok and evidence.uncaptured_versions == 0, (evidence.missing[:3], evidence.altered[:3])
    if not cluster:
        with sqlite3.connect(database) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
