"""Full-text search at 100,000 and 1,000,000 versions: p50/p99 per kind of query, beside LIKE.

The archives are bench.storage.build_archive's (real sentences from the demo texts, 500 distinct
bodies, unique titles), indexed with the same tokens the writer stores. Each query kind is timed
through ``store.search.search`` (the path the web view, the CLI and the feeds take), uncached, and
beside it in the same run the LIKE scans it replaces: the old title filter and a body LIKE. The
same archive is then copied into PostgreSQL (``$PROCWATCH_BENCH_PG_URL``, when reachable) and timed
the same way: tsvector under GIN.
"""

from __future__ import annotations

import math
import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

from bench.common import Row, verdict
from bench.storage import build_archive, postgres_database
from storage import Store, make_engine
from storage.db import ensure_schema
from storage.search_terms import document_tokens

P50_TARGET_MS, P99_TARGET_MS, EXPONENT_TARGET = 30.0, 150.0, 0.3


def token_batches(connection: sqlite3.Connection) -> Iterator[list[tuple[int, str]]]:
    """The archive's versions as (id, tokens) as the writer indexes them, 100,000 at a time."""
    bodies: dict[str, str] = {}
    last = 0
    while True:
        rows = connection.execute(
            "SELECT id, title, body_text FROM article_version WHERE id > ? ORDER BY id LIMIT 100000", (last,)
        ).fetchall()
        if not rows:
            return
        batch = []
        for version_id, title, body in rows:
            if body not in bodies:  # the archive repeats its bodies; their tokens are the same each time
                bodies[body] = document_tokens(body)
            batch.append((version_id, f"{document_tokens(title)} {bodies[body]}"))
        yield batch
        last = rows[-1][0]


def index_archive(path: Path) -> float:
    """Fill version_search as the writer would have; the index's bytes per version."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = path.stat().st_size
    total = 0
    # a bulk load, its segments left as loaded (no merging meanwhile, no final 'optimize', which took
    # longer than the load at 1,000,000 versions), at every size alike: queries probe every segment,
    # so the figures are the pessimistic ones; the writer's archive merges as it grows (automerge)
    connection.execute("INSERT INTO version_search (version_search, rank) VALUES ('automerge', 0)")
    for batch in token_batches(connection):
        connection.executemany("INSERT INTO version_search (rowid, tokens) VALUES (?, ?)", batch)
        connection.commit()
        total += len(batch)
    connection.execute("INSERT INTO version_search (version_search, rank) VALUES ('automerge', 4)")
    connection.commit()
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    try:  # the index's own pages (dbstat), else what the file grew by
        used = connection.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'version_search%'").fetchone()[0]
    except sqlite3.Error:
        used = path.stat().st_size - before
    connection.close()
    return float(used) / max(total, 1)


def copy_to_postgres(path: Path, url: str) -> tuple[Store, float]:
    """The SQLite archive at ``path`` copied into the empty PostgreSQL database at ``url`` and indexed
    (tokens as the writer's, GIN built after the load as a bulk load does); the store and the index's
    bytes per version."""
    engine = make_engine(url)
    ensure_schema(engine)
    source = sqlite3.connect(path)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SET TIME ZONE 'UTC'")  # the SQLite archive's times are UTC without a zone
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET statement_timeout = 0")  # a bulk load, not a query of the web view
        cursor.execute("DROP INDEX ix_version_search_document")
        for name in ("article", "article_version"):
            columns = ", ".join(row[1] for row in source.execute(f"PRAGMA table_info({name})"))
            with cursor.copy(f"COPY {name} ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in source.execute(f"SELECT {columns} FROM {name}"):
                    copy.write_row(row)
        cursor.execute("CREATE UNLOGGED TABLE search_load (version_id INTEGER, tokens TEXT)")
        total = 0
        for batch in token_batches(source):
            with cursor.copy("COPY search_load (version_id, tokens) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in batch:
                    copy.write_row(row)
            total += len(batch)
        cursor.execute(
            "INSERT INTO version_search (version_id, document)"
            " SELECT version_id, to_tsvector('simple', tokens) FROM search_load"
        )
        cursor.execute("DROP TABLE search_load")
        cursor.execute("CREATE INDEX ix_version_search_document ON version_search USING gin (document)")
        raw.commit()
        cursor.execute("SELECT pg_total_relation_size('version_search')")
        used = cursor.fetchone()[0]
    finally:
        raw.close()
        source.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("SET statement_timeout = 0")
        connection.exec_driver_sql("VACUUM ANALYZE")
    return Store(engine), float(used) / max(total, 1)


def queries(path: Path, versions: int) -> dict[str, str]:
    """One query of each kind, chosen from the archive's own text."""
    connection = sqlite3.connect(path)
    bodies = [row[0] for row in connection.execute("SELECT body_text FROM article_version LIMIT 500")]
    connection.close()
    pairs: Counter[str] = Counter()
    for body in bodies:
        pairs.update({p for p in document_tokens(body).split() if len(p) == 2})
    common = pairs.most_common(1)[0][0]
    sentence = max(bodies[0].split("\n"), key=len)
    return {
        "common term": common,
        "rare term (one article)": f"文章标题{versions // 3}",
        "absent term": "监察委员会换届选举",
        "one character": common[0],
        "long phrase (16 characters)": sentence[:16],
        "two terms": f"{common} {pairs.most_common(40)[-1][0]}",
    }


def timing(store: Store, query: str, runs: int) -> tuple[float, float, int]:
    times, found = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        found = len(store.search.search(query, limit=20).hits)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, math.ceil(0.99 * len(times)) - 1)], found


def median_ms(call: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


TITLE_LIKE = "SELECT id FROM article WHERE title LIKE {} ORDER BY published_at DESC, id DESC LIMIT 20"
BODY_LIKE = "SELECT id FROM article_version WHERE body_text LIKE {} ORDER BY id DESC LIMIT 20"
LIKE_KINDS = ("rare term (one article)", "absent term")

Timings = dict[str, tuple[float, float, int]]


def measure(store: Store, chosen: dict[str, str], runs: int) -> Timings:
    store.search.search("检察", limit=20)  # warm: OpenCC's tables, the page cache
    return {kind: timing(store, query, runs) for kind, query in chosen.items()}


def like_medians(store: Store, chosen: dict[str, str], runs: int) -> dict[str, tuple[float, float]]:
    """The LIKE scans the index replaced, on the same database: the old title filter and a body LIKE."""
    marker = "?" if store.engine.dialect.name == "sqlite" else "%s"
    out = {}
    with store.engine.connect() as connection:
        for kind in LIKE_KINDS:
            title, body = (
                partial(connection.exec_driver_sql, sql.format(marker), (f"%{chosen[kind]}%",))
                for sql in (TITLE_LIKE, BODY_LIKE)
            )
            out[kind] = (median_ms(title, runs), median_ms(body, 3))
    return out


def report(
    backend: str,
    sizes: list[int],
    results: dict[int, Timings],
    likes: dict[int, dict[str, tuple[float, float]]],
    bytes_per_version: dict[int, float],
    index: str,
) -> list[Row]:
    small, large = sizes
    rows = []
    for kind in results[large]:
        p50, p99, found = results[large][kind]
        growth = math.log(max(p50, 1e-3) / max(results[small][kind][0], 1e-3)) / math.log(large / small)
        rows.append(
            Row(
                "search",
                f"{kind} at {large:,} versions ({backend}), p50 / p99, {found} hits shown",
                f"{p50:.1f} / {p99:.1f} ms",
                f"<= {P50_TARGET_MS:.0f} / {P99_TARGET_MS:.0f} ms",
                verdict(max(p50 / P50_TARGET_MS, p99 / P99_TARGET_MS), 1.0, higher_is_better=False)
                + f"; growth exponent {growth:.2f} (<= {EXPONENT_TARGET})"
                + f"; at {small:,}: {results[small][kind][0]:.1f} / {results[small][kind][1]:.1f} ms",
            )
        )
    for kind, (title_like, body_like) in likes[large].items():
        rows.append(
            Row(
                "search",
                f"{kind} at {large:,} versions ({backend}): the old title LIKE / a body LIKE, median (same run)",
                f"{title_like:.0f} / {body_like:.0f} ms",
                "",
                f"index = {results[large][kind][0]:.1f} ms: "
                f"{title_like / max(results[large][kind][0], 1e-3):.0f}x faster than the title LIKE; it reads bodies"
                f"; at {small:,}: {likes[small][kind][0]:.0f} / {likes[small][kind][1]:.0f} ms",
            )
        )
    rows.append(
        Row(
            "search",
            f"index size per version ({index})",
            f"{bytes_per_version[large]:.0f} B",
            "",
            f"at {small:,}: {bytes_per_version[small]:.0f} B",
        )
    )
    return rows


def run(quick: bool = False) -> list[Row]:
    sizes = [5_000, 20_000] if quick else [100_000, 1_000_000]
    runs = 15 if quick else 60
    results: dict[str, dict[int, Timings]] = {"SQLite": {}, "PostgreSQL": {}}
    likes: dict[str, dict[int, dict[str, tuple[float, float]]]] = {"SQLite": {}, "PostgreSQL": {}}
    sizes_of: dict[str, dict[int, float]] = {"SQLite": {}, "PostgreSQL": {}}
    with tempfile.TemporaryDirectory() as name:
        for versions in sizes:
            path = Path(name) / f"search-{versions}.sqlite3"
            build_archive(path, versions)
            sizes_of["SQLite"][versions] = index_archive(path)
            chosen = queries(path, versions)
            store = Store(make_engine(str(path), create=False))
            results["SQLite"][versions] = measure(store, chosen, runs)
            likes["SQLite"][versions] = like_medians(store, chosen, max(3, runs // 10))
            store.engine.dispose()
            if quick:  # the smoke run in the test suite: SQLite only (PostgreSQL's copy doubles its time)
                path.unlink()
                continue
            with postgres_database() as url:  # no PostgreSQL: its rows are left out, said on stderr
                if url is not None:
                    store, sizes_of["PostgreSQL"][versions] = copy_to_postgres(path, url)
                    results["PostgreSQL"][versions] = measure(store, chosen, runs)
                    likes["PostgreSQL"][versions] = like_medians(store, chosen, max(3, runs // 10))
                    store.engine.dispose()
            path.unlink()
    rows = report(
        "SQLite",
        sizes,
        results["SQLite"],
        likes["SQLite"],
        sizes_of["SQLite"],
        "SQLite FTS5, contentless, positions kept",
    )
    if len(results["PostgreSQL"]) == len(sizes):
        rows += report(
            "PostgreSQL",
            sizes,
            results["PostgreSQL"],
            likes["PostgreSQL"],
            sizes_of["PostgreSQL"],
            "PostgreSQL tsvector and its GIN index",
        )
    return rows
