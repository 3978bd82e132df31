"""Two `procwatch run --cluster` workers on the local PostgreSQL crawl each due source exactly once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import procwatch
from tests.support.processes import started, stop
from tests.support.waiting import wait_until

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[3]
INTERVAL, CRAWLS, DEADLINE = 2.0, 3, 60.0


def test_two_workers_share_the_sources_without_double_crawls(mirror, postgres_url, tmp_path) -> None:
    pytest.importorskip("procrastinate", reason="procrastinate is not installed (pip install 'procwatch[postgres]')")
    from tests.conftest import _reset_postgres

    _reset_postgres(postgres_url)
    upgrade = procwatch("db", "upgrade", "--db", postgres_url)
    assert upgrade.returncode == 0, upgrade.stderr
    assert "created procrastinate's tables" in upgrade.stdout
    config = mirror.write_config(tmp_path / "sources.yaml", every=f"{int(INTERVAL)}s")
    for server in mirror.servers.values():
        server.delay = 0.3  # a crawl takes a while, so two concurrent ones would overlap visibly
    command = [
        sys.executable,
        "-m",
        "crawler",
        "run",
        "--cluster",
        "--tick",
        "1s",
        "--port",
        "0",
        "--config",
        str(config),
        "--db",
        postgres_url,
    ]
    lists = {site_id: (mirror.servers[site_id], site.list_path) for site_id, site in mirror.sites.items()}
    with started([subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True) for _ in range(2)]) as workers:
        started_at = time.monotonic()

        def crawled_enough() -> bool:
            assert all(worker.poll() is None for worker in workers), "a worker died"
            return min(server.requests[path] for server, path in lists.values()) >= CRAWLS

        # until every source was crawled a few times (however long a slow machine takes) ...
        wait_until(crawled_enough, timeout=DEADLINE, message="the workers crawl every source")
        elapsed = time.monotonic() - started_at
        codes = stop(workers)
    logs = [worker.stderr.read() for worker in workers if worker.stderr]
    (tmp_path / "workers.log").write_text("\n=====\n".join(logs))
    assert codes == [0, 0], logs
    for site_id, (server, path) in lists.items():
        # ... and never more than one crawl per due time: two workers each crawling would double the rate
        # (an upper bound on the rate holds however slow the machine; only a faster one could break it)
        assert server.requests[path] <= (elapsed + 1) / INTERVAL + 2, (site_id, server.requests[path], elapsed)
        assert server.max_in_flight[path] == 1, site_id  # never two crawls of a source at once
    assert sum(log.count("procwatch.fetch") for log in logs) > 0
