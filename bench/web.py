"""The web view on a large archive: server time of every page at 1,000,000 versions (100,000 with --quick).

The archive is the storage benchmark's (95 % of articles with one version, 5 % edited, 20 sources),
plus campaigns as a real archive has them: 40 names, one mention in every 25th article, the first
mention per source. Each page is requested in process through the ASGI app (no socket, no client
parsing): what is timed is routing, the queries and the template, i.e. the server's time.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, unquote

from starlette.testclient import TestClient

from bench.common import Row, verdict
from bench.storage import CONFIG, build_archive
from feeds.server import create_app
from storage import Store, make_engine

PAGE_TARGET_MS = 50.0
CAMPAIGNS = 40
EVERY = 25


def add_campaigns(path: Path) -> tuple[str, int]:
    """Campaign rows, mentions and per-source first mentions by bulk SQL; returns a campaign name and an
    edited article's id, for the pages that need one."""
    connection = sqlite3.connect(path)
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    names = [f"专项行动{i:02d}" for i in range(CAMPAIGNS)]
    first: dict[int, tuple[int, str, str]] = {}
    mentions, per_source = [], {}
    rows = connection.execute(
        "SELECT v.id, v.article_id, a.source_id, v.published_at FROM article_version v "
        f"JOIN article a ON a.id = v.article_id WHERE v.version = 1 AND v.article_id % {EVERY} = 0 ORDER BY v.id"
    ).fetchall()
    for version_id, article_id, source_id, published in rows:
        campaign = (article_id // EVERY) % CAMPAIGNS + 1
        first.setdefault(campaign, (article_id, source_id, published))
        per_source.setdefault((campaign, source_id), (published, article_id))
        context = f"……开展{names[campaign - 1]}……"
        mentions.append((campaign, version_id, article_id, source_id, 1, context, published))
    connection.executemany(
        "INSERT INTO campaign (id, name, kind, first_seen_at, first_article_id, first_source_id, first_context) "
        "VALUES (?, ?, 'campaign', ?, ?, ?, ?)",
        [(c, names[c - 1], first[c][2], first[c][0], first[c][1], names[c - 1]) for c in sorted(first)],
    )
    connection.executemany(
        "INSERT INTO campaign_mention (campaign_id, version_id, article_id, source_id, count, context, seen_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        mentions,
    )
    connection.executemany(
        "INSERT INTO campaign_source (campaign_id, source_id, first_seen_at, article_id, context) VALUES (?,?,?,?,'')",
        [(c, s, at, a) for (c, s), (at, a) in per_source.items()],
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    connection.executemany(
        "INSERT INTO source_state (source_id, last_checked, last_success, consecutive_failures, last_error) "
        "VALUES (?, ?, ?, ?, ?)",
        [
            (s.id, now.strftime(fmt), (now - timedelta(hours=i % 3)).strftime(fmt), i % 7 == 0, None)
            for i, s in enumerate(CONFIG.sources)
        ],
    )
    edited = connection.execute(
        "SELECT article_id FROM article_version WHERE version = 2 LIMIT 1 OFFSET 500"
    ).fetchone()
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()
    return names[0], edited[0]


def page_timings(path: Path, campaign: str, edited: int, runs: int) -> list[tuple[str, float]]:
    store = Store(make_engine(str(path)))
    client = TestClient(create_app(store, lambda: CONFIG))
    pages = [
        "/",
        "/sources",
        "/sources/s3",
        "/articles",
        "/articles?source=s3",
        "/articles?q=" + quote("标题"),  # matches every title: the newest 50 end the scan
        "/articles?q=" + quote("文章标题99"),  # matches nothing among the newest 850,000: a full scan
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
