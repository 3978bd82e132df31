"""The web view on a large archive: server time of every page at 1,000,000 versions (100,000 with --quick).

The archive is the storage benchmark's (95 % of articles with one version, 5 % edited, 20 sources),
plus campaigns as a real archive has them: 40 names, one mention in every 25th article, the first
mention per source. Each page is requested in process through the ASGI app (no socket, no client
parsing): what is timed is routing, the queries and the template, i.e. the server's time.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, unquote

from starlette.testclient import TestClient

from bench.common import Row, verdict
from bench.search import index_archive
from bench.storage import CONFIG, add_campaigns, build_archive
from feeds.server import create_app
from storage import Store, make_engine

PAGE_TARGET_MS = 50.0


def page_timings(path: Path, campaign: str, edited: int, runs: int) -> list[tuple[str, float]]:
    store = Store(make_engine(str(path)))
    client = TestClient(create_app(store, lambda: CONFIG))
    pages = [
        "/",
        "/sources",
        "/sources/s3",
        "/articles",
        "/articles?source=s3",
        "/articles?q=" + quote("标题"),  # in every title: the newest matches fill the page
        "/articles?q=" + quote("文章标题99"),  # one title in a hundred thousand: the LIKE path scanned them all
        "/articles?campaign=" + quote(campaign),
        "/articles?since=2020-01-01",
        f"/articles/{edited}",
        f"/articles/{edited}?view=side",
        "/campaigns",
        "/campaigns/" + quote(campaign),
        "/articles.json?source=s3&after=500000",
    ]
    out = []
    for page in pages:
        answer = client.get(page)
        assert answer.status_code == 200, (page, answer.status_code, answer.text[:200])
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            client.get(page)
            timings.append((time.perf_counter() - started) * 1000)
        out.append((page, statistics.median(timings)))
    store.engine.dispose()
    return out


def run(quick: bool = False) -> list[Row]:
    versions = 100_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory() as name:
        path = Path(name) / "web.sqlite3"
        build_archive(path, versions)
        index_archive(path)  # the search box reads the full-text index, as a stored archive has it
        campaign, edited = add_campaigns(path)
        timings = page_timings(path, campaign, edited, 5 if quick else 21)
    return [
        Row(
            "web",
            f"page {unquote(page)} at {versions:,} versions, median server time",
            f"{ms:.1f} ms",
            f"<= {PAGE_TARGET_MS:.0f} ms",
            verdict(ms, PAGE_TARGET_MS, higher_is_better=False),
        )
        for page, ms in timings
    ]
