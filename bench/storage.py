"""Storage and feeds: ingest rate on SQLite, bytes per version, and the `all` feed at 1,000,000 versions."""

from __future__ import annotations

import hashlib
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench.common import Row, verdict
from crawler.config import parse_config
from crawler.dates import BEIJING
from crawler.demo.synthetic import sentences
from crawler.extract import ExtractedArticle
from feeds.catalog import catalog
from feeds.items import FeedQuery, items_for
from feeds.render import render_feed
from storage import Store, make_engine
from storage.db import ensure_schema

INGEST_TARGET = 2000.0
FEED_TARGET_MS = 20.0
CONFIG = parse_config(
    "sources:\n"
    + "".join(
        f"  - {{id: s{i}, name: 来源{i}, adapter: trs, lists: ['https://s{i}.gov.cn/'], schedule: {{every: 1h}}}}\n"
        for i in range(20)
    )
)


def pages(count: int, seed: int = 1) -> list[ExtractedArticle]:
    pool, rng = sentences(), random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=BEIJING)
    return [
        ExtractedArticle(
            url=f"https://s{i % 20}.gov.cn/2024/t2024_{seed}_{i}.shtml",
            title=f"测试标题{seed}-{i}",
            published_at=start + timedelta(minutes=i),
            body_text="\n".join(f"{s}。" for s in rng.sample(pool, 10)) + f"\n编号{seed}-{i}。",
            body_html="<p>" + "</p><p>".join(rng.sample(pool, 3)) + "</p>",
            source_label="测试来源",
        )
        for i in range(count)
    ]


def ingest(directory: Path, count: int) -> tuple[float, float]:
    """Versions per second through Store.record (the crawler's path), and bytes per stored version."""
    path = directory / "ingest.sqlite3"
    engine = make_engine(str(path))
    ensure_schema(engine)
    store = Store(engine)
    batch = pages(count)
    started = time.perf_counter()
    for page in batch:
        store.record(page.url.split("/")[2].split(".")[0], page)
    rate = count / (time.perf_counter() - started)
    engine.dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return rate, path.stat().st_size / count


def build_archive(path: Path, versions: int) -> None:
    """A database of ``versions`` versions, written with bulk SQL (Store.record would take hours).

    Shape: 95 % of articles have one version, 5 % have two (a reported edit), 20 sources, a few
    campaign mentions: what years of monitoring look like.
    """
    engine = make_engine(str(path))
    ensure_schema(engine)
    engine.dispose()
    articles = int(versions / 1.05)
    edited = versions - articles
    pool, rng = sentences(), random.Random(7)
    start = datetime(2015, 1, 1)
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    bodies = ["\n".join(rng.sample(pool, 4)) for _ in range(500)]
    chunk = 50_000
    for base in range(0, articles, chunk):
        rows_a, rows_v, rows_e = [], [], []
        for i in range(base, min(articles, base + chunk)):
            when = (start + timedelta(minutes=5 * i)).strftime(fmt)
            two = i % 20 == 0 and i // 20 < edited
            digest = hashlib.sha1(str(i).encode()).hexdigest()
            rows_a.append(
                (
                    i + 1,
                    f"https://s{i % 20}.gov.cn/a/t_{i}.shtml",
                    f"s{i % 20}",
                    when,
                    when,
                    when,
                    "live",
                    when,
                    f"文章标题{i}",
                    digest,
                    2 if two else 1,
                    2 if two else 1,
                )
            )
            rows_v.append((i + 1, 1, digest, f"文章标题{i}", bodies[i % 500], "<p>正文</p>", when, when, 0))
            rows_e.append((i + 1, "published", when, 1, None))
            if two:
                later = (start + timedelta(minutes=5 * i + 3)).strftime(fmt)
                rows_v.append(
                    (
                        i + 1,
                        2,
                        digest[::-1],
                        f"文章标题{i}",
                        bodies[i % 500] + "\n补充一句。",
                        "<p>正文</p>",
                        later,
                        later,
                        5,
                    )
                )
        connection.executemany(
            "INSERT INTO article (id, url, source_id, first_seen, last_seen, last_checked, status, published_at, title,"
            " content_hash, version_count, current_version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            rows_a,
        )
        connection.executemany(
            "INSERT INTO article_version (article_id, version, content_hash, title, body_text, body_html, published_at,"
            " fetched_at, change_chars) VALUES (?,?,?,?,?,?,?,?,?)",
            rows_v,
        )
        connection.executemany(
            "INSERT INTO event (article_id, version_id, kind, at, reported, note) VALUES (?, NULL, ?, ?, ?, ?)", rows_e
        )
        connection.commit()
    # reported edits, pointing at their version rows
    connection.execute(
        "INSERT INTO event (article_id, version_id, kind, at, reported) "
        "SELECT article_id, id, 'edited', fetched_at, 1 FROM article_version WHERE version = 2"
    )
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()


def feed_timing(path: Path, runs: int) -> tuple[float, float, int]:
    store = Store(make_engine(str(path)))
    spec = next(s for s in catalog(CONFIG) if s.path == "all")
    query = FeedQuery()
    items_for(store, CONFIG, spec, query)  # warm the caches, as a running server would be
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        render_feed(spec, items_for(store, CONFIG, spec, query), "rss", "http://127.0.0.1:8080")
        timings.append((time.perf_counter() - started) * 1000)
    with store.engine.connect() as connection:
        count = connection.exec_driver_sql("SELECT count(*) FROM article_version").scalar()
        floor = []
        for _ in range(runs):
            started = time.perf_counter()
            connection.exec_driver_sql(
                "SELECT a.id, a.title, v.body_text FROM article a JOIN article_version v ON v.article_id = a.id "
                "AND v.version = a.current_version ORDER BY a.published_at DESC, a.id DESC LIMIT 50"
            ).all()
            floor.append((time.perf_counter() - started) * 1000)
    store.engine.dispose()
    return statistics.median(timings), statistics.median(floor), count


def run(quick: bool = False) -> list[Row]:
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        rate, per_version = ingest(directory, 300 if quick else 3000)
        versions = 100_000 if quick else 1_000_000
        started = time.perf_counter()
        build_archive(directory / "archive.sqlite3", versions)
        built = time.perf_counter() - started
        median_ms, floor_ms, count = feed_timing(directory / "archive.sqlite3", 10 if quick else 50)
    return [
        Row(
            "storage",
            "ingest through Store.record on SQLite (new articles)",
            f"{rate:.0f} versions/s",
            f">= {INGEST_TARGET:.0f}/s",
            verdict(rate, INGEST_TARGET),
        ),
        Row("storage", "bytes per stored version (SQLite, with indexes and signatures)", f"{per_version:.0f} B"),
        Row(
            "feeds",
            f"`all` feed (RSS, 50 items) at {count:,} versions, median",
            f"{median_ms:.1f} ms",
            f"<= {FEED_TARGET_MS:.0f} ms",
            verdict(median_ms, FEED_TARGET_MS, higher_is_better=False),
        ),
        Row(
            "feeds",
            "the bare SQL for the newest 50 articles (floor), median",
            f"{floor_ms:.2f} ms",
            "",
            f"feed = {median_ms / max(floor_ms, 1e-6):.0f}x the floor; archive built in {built:.0f} s",
        ),
    ]
