"""Storage and feeds: ingest rate on SQLite, bytes per version, and the `all` feed at 1,000,000 versions."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.common import Row, verdict
from crawler.campaigns import CampaignExtractor
from crawler.campaigns.extract import Mention
from crawler.campaigns.lexicon import load_lexicon
from crawler.config import parse_config
from crawler.dates import BEIJING
from crawler.demo.synthetic import sentences
from crawler.extract import ExtractedArticle
from feeds.catalog import catalog
from feeds.items import FeedQuery, items_for
from feeds.render import render_feed
from storage import Store, make_engine
from storage.db import analyze, ensure_schema
from storage.decide import Recording
from storage.sanitize import sanitize_html
from storage.search_terms import document_tokens
from storage.store import BATCH

INGEST_TARGET = 4000.0
FLOOR_SHARE = {"SQLite": 0.5, "PostgreSQL": 0.7}  # of the bare driver's rate for the same rows
RUNS = 3
FEED_TARGET_MS = 5.0
FEEDS = ("all", "changes", "campaigns")
CONFIG = parse_config(
    "sources:\n"
    + "".join(
        f"  - {{id: s{i}, name: 来源{i}, adapter: trs, lists: ['https://s{i}.gov.cn/'], schedule: {{every: 1h}}}}\n"
        for i in range(20)
    )
)


CAMPAIGN_SENTENCES = [
    "深入开展“检察护企”专项行动，依法平等保护各类经营主体。",
    "持续推进“质量建设年”活动，提升办案质效。",
    "落实“一号检察建议”，督促整改校园安全隐患。",
    "增强“四个意识”、坚定“四个自信”、做到“两个维护”。",
]


def pages(count: int, seed: int = 1) -> list[ExtractedArticle]:
    pool, rng = sentences(), random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=BEIJING)
    return [
        ExtractedArticle(
            url=f"https://s{i % 20}.gov.cn/2024/t2024_{seed}_{i}.shtml",
            title=f"测试标题{seed}-{i}",
            published_at=start + timedelta(minutes=i),
            body_text="\n".join(f"{s}。" for s in rng.sample(pool, 10))
            + f"\n{CAMPAIGN_SENTENCES[i % len(CAMPAIGN_SENTENCES)]}\n编号{seed}-{i}。",
            # what the extractor hands over: already sanitised, as every extracted body is
            body_html=sanitize_html("<p>" + "</p><p>".join(rng.sample(pool, 3)) + "</p>", "https://s0.gov.cn/"),
            source_label="测试来源",
        )
        for i in range(count)
    ]


def _extracted(count: int) -> list[tuple[ExtractedArticle, list[Mention]]]:
    """Pages as the pipeline has them before storing: extracted, normalised, campaigns found."""
    extractor = CampaignExtractor(load_lexicon())
    out = []
    for page in pages(count):
        _ = page.content_hash  # computed by the extractor's thread in the crawler
        out.append((page, extractor.extract(f"{page.title}\n{page.body_text}")))
    return out


def _source(page: ExtractedArticle) -> str:
    return page.url.split("/")[2].split(".")[0]


# What an ingest writes, per table, in the order a transaction can insert it (parents first), with the
# column that ties each row to its article: the driver floor re-inserts these rows in the same batches.
_WRITTEN = (
    ("article", "id"),
    ("article_version", "article_id"),
    ("event", "article_id"),
    ("article_signature", "article_id"),
    ("signature_band", "article_id"),
    ("campaign", "first_article_id"),
    ("campaign_source", "article_id"),
    ("campaign_mention", "article_id"),
)


def _written_rows(raw: Any, after: int, sqlite: bool) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """The rows of articles after id ``after``, per table (columns, rows), search index included."""
    cursor = raw.cursor()
    out: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    for table, key in _WRITTEN:
        cursor.execute(f"SELECT * FROM {table} WHERE {key} > {after} ORDER BY {key}")
        out[table] = ([d[0] for d in cursor.description], [tuple(row) for row in cursor.fetchall()])
    if sqlite:  # contentless FTS5: its tokens are not stored, so made again as the writer made them
        cursor.execute(f"SELECT id, title, body_text FROM article_version WHERE article_id > {after} ORDER BY id")
        rows = [(i, document_tokens(f"{title}\n{body}")) for i, title, body in cursor.fetchall()]
        out["version_search"] = (["rowid", "tokens"], rows)
    else:
        cursor.execute(
            "SELECT s.version_id, s.document::text FROM version_search s JOIN article_version v ON v.id = s.version_id"
            f" WHERE v.article_id > {after} ORDER BY s.version_id"
        )
        out["version_search"] = (["version_id", "document"], [tuple(row) for row in cursor.fetchall()])
    return out


def _baseline(url: str, count: int) -> Store:
    """A database holding ``count`` articles already, with planner statistics, as a monitored archive has."""
    engine = make_engine(url)
    ensure_schema(engine)
    store = Store(engine)
    store.writer.record_many([Recording(_source(p), p) for p in pages(count, seed=2)])
    analyze(engine)
    return store


def driver_floor(url: str, count: int, written: dict[str, tuple[list[str], list[tuple[Any, ...]]]]) -> float:
    """Seconds the bare driver takes to insert ``written`` (the rows an ingest wrote) into a database in
    the state the ingest started from, in as many transactions: executemany on SQLite, COPY on
    PostgreSQL, the rows made beforehand, nothing decided."""
    engine = _baseline(url, count).engine
    sqlite = engine.dialect.name == "sqlite"
    articles = [row[0] for row in written["article"][1]]
    batches = -(-len(articles) // BATCH)
    edges = [articles[len(articles) * i // batches] for i in range(batches)] + [articles[-1] + 1]
    version_article = {row[0]: row[1] for row in written["article_version"][1]}  # id, article_id
    order = [*(t for t, _ in _WRITTEN[:2]), "version_search", *(t for t, _ in _WRITTEN[2:])]
    keys = dict(_WRITTEN)
    plan: list[list[tuple[str, list[tuple[Any, ...]]]]] = []  # per transaction: (statement, rows)
    for low, high in itertools.pairwise(edges):
        steps = []
        for table in order:
            columns, rows = written[table]
            if table == "version_search":
                chosen = [r for r in rows if low <= version_article[r[0]] < high]
            else:
                index = columns.index(keys[table])
                chosen = [r for r in rows if low <= r[index] < high]
            names = ", ".join(columns)
            if sqlite:
                statement = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"
            else:
                statement = f"COPY {table} ({names}) FROM STDIN"
            if chosen:
                steps.append((statement, chosen))
        plan.append(steps)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        for steps in plan:
            if sqlite:  # procwatch's connections run in autocommit and begin explicitly, as its writer does
                cursor.execute("BEGIN IMMEDIATE")
            for statement, chosen in steps:
                if sqlite:
                    cursor.executemany(statement, chosen)
                else:
                    with cursor.copy(statement) as copy:
                        for row in chosen:
                            copy.write_row(row)
            raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()
        engine.dispose()


@dataclass
class Ingest:
    """One ingest run's figures, in versions per second."""

    grouped: float  # Store.submit
    floor: float  # the bare driver inserting the same rows in as many transactions
    single: float  # store.writer.record, one transaction per page
    mentions: int


def ingest(url: str, floor_url: str, count: int) -> Ingest:
    """Versions per second through Store.submit (the crawler's path: group commit, many crawls writing at
    once), through store.writer.record (one transaction per page), and the driver's floor for the rows
    the first wrote (into ``floor_url``, a database of its own in the same starting state).

    Into an archive that holds articles already, with planner statistics, as a monitored archive does:
    on a new PostgreSQL database the foreign-key checks keep the plans made while the tables were
    empty until autovacuum analyses them (a minute or so), and ingest runs at half speed meanwhile.
    """
    batch = _extracted(count)
    store = _baseline(url, count)
    engine = store.engine
    with engine.connect() as connection:
        before = connection.exec_driver_sql("SELECT max(id) FROM article").scalar() or 0

    async def crawl() -> None:
        await asyncio.gather(*(store.submit(_source(p), p, mentions=m) for p, m in batch))

    started = time.perf_counter()
    asyncio.run(crawl())
    grouped = time.perf_counter() - started
    raw = engine.raw_connection()
    try:
        written = _written_rows(raw, before, engine.dialect.name == "sqlite")
    finally:
        raw.close()
    floor = driver_floor(floor_url, count, written)
    single = _extracted(count // 5)
    single = [(p.with_changes(url=p.url.replace("/2024/", "/2025/")), m) for p, m in single]
    started = time.perf_counter()
    for page, mentions in single:
        store.writer.record(_source(page), page, mentions=mentions)
    one_by_one = len(single) / (time.perf_counter() - started)
    with store.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT count(*) FROM campaign_mention").scalar() or 0
    engine.dispose()
    return Ingest(count / grouped, count / floor, one_by_one, stored)


def sqlite_size(directory: Path, count: int) -> float:
    """Bytes per stored version, with indexes and signatures."""
    path = directory / "size.sqlite3"
    engine = make_engine(str(path))
    ensure_schema(engine)
    store = Store(engine)
    for page, mentions in _extracted(count):
        store.writer.record(_source(page), page, mentions=mentions)
    engine.dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size / count


_DATABASES = itertools.count()


@contextmanager
def sqlite_database(directory: Path) -> Iterator[str | None]:
    """A new SQLite database file under ``directory``."""
    path = Path(tempfile.mkstemp(dir=directory, suffix=".sqlite3")[1])
    path.unlink()
    try:
        yield f"sqlite:///{path}"
    finally:
        for leftover in directory.glob(f"{path.name}*"):
            leftover.unlink()


@contextmanager
def postgres_database() -> Iterator[str | None]:
    """A throw-away database on the local PostgreSQL server (``$PROCWATCH_BENCH_PG_URL``), or None."""
    admin_url = os.environ.get("PROCWATCH_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        name = f"procwatch_bench_{os.getpid()}_{next(_DATABASES)}"
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"PostgreSQL benchmark skipped: {admin_url} not usable ({type(exc).__name__})", file=sys.stderr)
        yield None
        return
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def build_archive(path: Path, versions: int) -> None:
    """A database of ``versions`` versions, written with bulk SQL (store.writer.record would take hours).

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
    # the count of mentioning articles the writer keeps per campaign
    connection.execute(
        "UPDATE campaign SET articles = (SELECT count(DISTINCT article_id) FROM campaign_mention m"
        " WHERE m.campaign_id = campaign.id)"
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


def feed_timing(path: Path, runs: int) -> tuple[dict[str, float], float, int]:
    """Median milliseconds to build and render each feed (RSS, 50 items), from a warm server's state."""
    store = Store(make_engine(str(path)))
    medians = {}
    for feed in FEEDS:
        spec = next(s for s in catalog(CONFIG) if s.path == feed)
        query = FeedQuery()
        items_for(store, CONFIG, spec, query)  # warm the caches, as a running server would be
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            render_feed(spec, items_for(store, CONFIG, spec, query), "rss", "http://127.0.0.1:8080")
            timings.append((time.perf_counter() - started) * 1000)
        medians[feed] = statistics.median(timings)
    with store.engine.connect() as connection:
        count = connection.exec_driver_sql("SELECT count(*) FROM article_version").scalar() or 0
        floor = []
        for _ in range(runs):
            started = time.perf_counter()
            connection.exec_driver_sql(
                "SELECT a.id, a.title, v.body_text FROM article a JOIN article_version v ON v.article_id = a.id "
                "AND v.version = a.current_version ORDER BY a.published_at DESC, a.id DESC LIMIT 50"
            ).all()
            floor.append((time.perf_counter() - started) * 1000)
    store.engine.dispose()
    return medians, statistics.median(floor), count


def _median(runs: list[Ingest], figure: str) -> float:
    return statistics.median(getattr(run, figure) for run in runs)


def _ingest_rows(backend: str, databases: Callable[[], AbstractContextManager[str | None]], count: int) -> list[Row]:
    """Median of RUNS runs, each into a database of its own (procwatch, then the floor on the same rows)."""
    runs = []
    for _ in range(RUNS):
        with databases() as url, databases() as floor_url:
            if url is None or floor_url is None:
                return [Row("storage", f"ingest on {backend}", "not measured", "", "PostgreSQL unreachable")]
            runs.append(ingest(url, floor_url, count))
    grouped, floor = _median(runs, "grouped"), _median(runs, "floor")
    share = statistics.median(run.grouped / run.floor for run in runs)
    target = FLOOR_SHARE[backend]
    floor_name = "executemany" if backend == "SQLite" else "COPY"
    rows = [
        Row(
            "storage",
            f"ingest on {backend}: {count} new articles with campaigns, through Store.submit (group commit),"
            f" median of {RUNS}",
            f"{grouped:.0f} versions/s",
            f">= {INGEST_TARGET:.0f}/s" if backend == "SQLite" else "",
            verdict(grouped, INGEST_TARGET) if backend == "SQLite" else "",
        ),
        Row(
            "storage",
            f"{backend} floor: the same rows by the bare driver ({floor_name}, as many transactions), median",
            f"{floor:.0f} versions/s",
        ),
        Row(
            "storage",
            f"ingest on {backend} / its floor",
            f"{share:.2f}",
            f">= {target}",
            verdict(share, target),
        ),
        Row(
            "storage",
            f"ingest on {backend}, one transaction per article (store.writer.record)",
            f"{_median(runs, 'single'):.0f} versions/s",
            "",
            f"group commit = {grouped / _median(runs, 'single'):.1f}x; {runs[0].mentions} campaign mentions stored",
        ),
    ]
    return rows


def run(quick: bool = False) -> list[Row]:
    count = 300 if quick else 3000
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        rows += _ingest_rows("SQLite", lambda: sqlite_database(directory), count)
        rows += _ingest_rows("PostgreSQL", postgres_database, count)  # no PostgreSQL: said in the row
        per_version = sqlite_size(directory, count // 3)
        versions = 100_000 if quick else 1_000_000
        started = time.perf_counter()
        build_archive(directory / "archive.sqlite3", versions)
        add_campaigns(directory / "archive.sqlite3")
        built = time.perf_counter() - started
        medians, floor_ms, count = feed_timing(directory / "archive.sqlite3", 10 if quick else 50)
    return [
        *rows,
        Row("storage", "bytes per stored version (SQLite, with indexes and signatures)", f"{per_version:.0f} B"),
        *(
            Row(
                "feeds",
                f"`{feed}` feed (RSS, 50 items) at {count:,} versions, built and rendered each time (no cache), median",
                f"{ms:.1f} ms",
                f"<= {FEED_TARGET_MS:.0f} ms",
                verdict(ms, FEED_TARGET_MS, higher_is_better=False),
            )
            for feed, ms in medians.items()
        ),
        Row(
            "feeds",
            "the bare SQL for the newest 50 articles (floor), median",
            f"{floor_ms:.2f} ms",
            "",
            f"`all` = {medians['all'] / max(floor_ms, 1e-6):.0f}x the floor; archive built in {built:.0f} s",
        ),
    ]
