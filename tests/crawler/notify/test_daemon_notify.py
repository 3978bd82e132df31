"""The daemon's notifier as users run it: `procwatch run` killed with SIGKILL while its messages are
on their way (nothing lost, nothing twice once it is back), and two `run --cluster` workers on
PostgreSQL sending each message once between them."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from storage import Store, make_engine
from storage.db import ensure_schema
from tests.crawler.notify.test_delivery import change_the_world, crawl_all, world_config
from tests.support.processes import started, stop
from tests.support.receivers import SmtpReceiver, WebhookReceiver
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[3]
EXPECTED = 5  # webhook messages of the changed world: three events, two of them matching the keyword rule


def daemon(config: Path, db: str, *extra: str) -> subprocess.Popen[str]:
    """`procwatch run`, its log appended to daemon.log beside the config (a pipe nobody reads while it
    runs would fill and stop the daemon in a log call)."""
    command = [sys.executable, "-m", "crawler", "run", "--config", str(config), "--db", db, "--port", "0", *extra]
    with (config.parent / "daemon.log").open("a") as log:
        return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log, text=True)


def fast(config_path: Path) -> None:
    """Every second, and a lease short enough for the test to see a killed sender's claims expire."""
    text = config_path.read_text(encoding="utf-8").replace("{every: 30m}", "{every: 1s}")
    config_path.write_text(text.replace("  retry: 30s", "  retry: 30s\n  lease: 2s\n  timeout: 60s"), encoding="utf-8")


def sent_once(hook: WebhookReceiver) -> Counter[str]:
    """Messages by their footer (entry number and rule): a repeat counts twice."""
    return Counter(payload["message"].rsplit("\n", 1)[-1] for payload in hook.received)


def test_a_daemon_killed_while_sending_sends_everything_once_after_a_restart(mirror, tmp_path) -> None:
    db = str(tmp_path / "archive.sqlite3")
    store = Store(make_engine(db))
    ensure_schema(store.engine)
    # two webhooks (the second where the mail would be), so that no message can have got through when
    # the kill comes: each receiver takes the requests and never answers
    with WebhookReceiver() as other, WebhookReceiver() as hook:
        config = world_config(mirror, tmp_path, other.url, hook.url)
        crawl_all(store, config)  # the first crawl: what was there before
        change_the_world(mirror)
        assert config.path is not None
        fast(config.path)
        hook.mode = other.mode = "stuck"
        first = daemon(config.path, db)
        try:  # recorded, claimed, on the way: not delivered
            wait_until(lambda: hook.stuck >= 1 and other.stuck >= 1, timeout=60, message="the daemon starts sending")
        finally:
            first.kill()  # SIGKILL: no chance to tidy up
            first.wait(timeout=10)
        assert hook.received == other.received == []
        hook.mode = other.mode = "up"
        with started([daemon(config.path, db)]) as (second,):
            wait_until(
                lambda: {r.status for r in store.outbox.log(limit=100)} == {"sent"} and len(hook.received) >= EXPECTED,
                timeout=90,
                message="the restarted daemon sends what the killed one left, and marks it sent",
            )
            assert stop([second]) == [0]
        counts = sent_once(hook)
        assert len(counts) == EXPECTED and set(counts.values()) == {1}, counts
        assert len(sent_once(other)) == 3 and set(sent_once(other).values()) == {1}
    store.engine.dispose()


@pytest.mark.postgres
def test_two_cluster_workers_send_each_message_once(mirror, postgres_url, tmp_path) -> None:
    pytest.importorskip("procrastinate", reason="procrastinate is not installed (pip install 'procwatch[postgres]')")
    from tests.conftest import _reset_postgres
    from tests.support.cli import procwatch

    _reset_postgres(postgres_url)
    assert procwatch("db", "upgrade", "--db", postgres_url).returncode == 0
    store = Store(make_engine(postgres_url))
    with SmtpReceiver() as smtp, WebhookReceiver() as hook:
        config = world_config(mirror, tmp_path, smtp.url(), hook.url)
        crawl_all(store, config)
        change_the_world(mirror)
        assert config.path is not None
        fast(config.path)
        with started([daemon(config.path, postgres_url, "--cluster", "--tick", "1s") for _ in range(2)]) as workers:
            wait_until(
                lambda: len(hook.received) >= EXPECTED and len(smtp.messages) >= 3,
                timeout=90,
                message="the workers send the changed world's messages",
            )
            wait_until(
                lambda: {r.status for r in store.outbox.log(limit=100)} == {"sent"},
                timeout=30,
                message="every delivery is marked sent",
            )
            codes = stop(workers)
        assert codes == [0, 0], (config.path.parent / "daemon.log").read_text()[-3000:]
        counts = sent_once(hook)
        assert len(counts) == EXPECTED and set(counts.values()) == {1}, counts
        assert len(smtp.messages) == 3
    store.engine.dispose()
