"""Full-text search at 100,000 and 1,000,000 versions (SQLite): p50/p99 per kind of query, beside LIKE.

The archives are bench.storage.build_archive's (real sentences from the demo texts, 500 distinct
bodies, unique titles), indexed with the same tokens the writer stores. Each query kind is timed
through ``store.search.search`` (the path the web view, the CLI and the feeds take), uncached, and
beside it in the same run the LIKE scans it replaces: the old title filter and a body LIKE.
"""

from __future__ import annotations

import math
import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.common import Row, verdict
from bench.storage import build_archive
from storage import Store, make_engine
from storage.search_terms import document_tokens

P50_TARGET_MS, P99_TARGET_MS, EXPONENT_TARGET = 30.0, 150.0, 0.3


def index_archive(path: Path) -> float:
    """Fill version_search as the writer would have; the index's bytes per version."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = path.stat().st_size
    bodies: dict[str, str] = {}
    last, total = 0, 0
    # a bulk load, its segments left as loaded (no merging meanwhile, no final 'optimize', which took
    # longer than the load at 1,000,000 versions): queries probe every segment, so the figures are
    # the pessimistic ones; the writer's archive merges as it grows (FTS5's automerge)
    connection.execute("INSERT INTO version_search (version_search, rank) VALUES ('automerge', 0)")
    while True:
        rows = connection.execute(
            "SELECT id, title, body_text FROM article_version WHERE id > ? ORDER BY id LIMIT 100000", (last,)
        ).fetchall()
        if not rows:
            break
        tokens = []
        for version_id, title, body in rows:
            if body not in bodies:  # the archive repeats its bodies; their tokens are the same each time
                bodies[body] = document_tokens(body)
            tokens.append((version_id, f"{document_tokens(title)} {bodies[body]}"))
        connection.executemany("INSERT INTO version_search (rowid, tokens) VALUES (?, ?)", tokens)
        connection.commit()
        last, total = rows[-1][0], total + len(rows)
    connection.execute("INSERT INTO version_search (version_search, rank) VALUES ('automerge', 4)")
    connection.commit()
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    try:  # the index's own pages (dbstat), else what the file grew by
        used = connection.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'version_search%'").fetchone()[0]
    except sqlite3.Error:
        used = path.stat().st_size - before
    connection.close()
    return float(used) / max(total, 1)


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


def like_timing(path: Path, sql: str, needle: str, runs: int) -> float:
    connection = sqlite3.connect(path)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        connection.execute(sql, (f"%{needle}%",)).fetchall()
        times.append((time.perf_counter() - started) * 1000)
    connection.close()
    return statistics.median(times)


TITLE_LIKE = "SELECT id FROM article WHERE title LIKE ? ORDER BY published_at DESC, id DESC LIMIT 20"
BODY_LIKE = "SELECT id FROM article_version WHERE body_text LIKE ? ORDER BY id DESC LIMIT 20"


def run(quick: bool = False) -> list[Row]:
    sizes = [5_000, 50_000] if quick else [100_000, 1_000_000]
    runs = 15 if quick else 60
    results: dict[int, dict[str, tuple[float, float, int]]] = {}
    likes: dict[int, dict[str, tuple[float, float]]] = {}
    bytes_per_version: dict[int, float] = {}
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as name:
        for versions in sizes:
            path = Path(name) / f"search-{versions}.sqlite3"
            build_archive(path, versions)
            bytes_per_version[versions] = index_archive(path)
            chosen = queries(path, versions)
            store = Store(make_engine(str(path), create=False))
            store.search.search("检察", limit=20)  # warm: OpenCC's tables, the page cache
            results[versions] = {kind: timing(store, q, runs) for kind, q in chosen.items()}
            likes[versions] = {
                kind: (like_timing(path, TITLE_LIKE, q, max(3, runs // 10)), like_timing(path, BODY_LIKE, q, 3))
                for kind, q in chosen.items()
                if kind in ("rare term (one article)", "absent term")
            }
            store.engine.dispose()
    small, large = sizes
    for kind in results[large]:
        p50, p99, found = results[large][kind]
        growth = math.log(max(p50, 1e-3) / max(results[small][kind][0], 1e-3)) / math.log(large / small)
        rows.append(
            Row(
                "search",
                f"{kind} at {large:,} versions (SQLite), p50 / p99, {found} hits shown",
                f"{p50:.1f} / {p99:.1f} ms",
                f"<= {P50_TARGET_MS:.0f} / {P99_TARGET_MS:.0f} ms",
                verdict(max(p50 / P50_TARGET_MS, p99 / P99_TARGET_MS), 1.0, higher_is_better=False)
                + f"; growth exponent {growth:.2f} (<= {EXPONENT_TARGET})"
                + f"; at {small:,}: {results[small][kind][0]:.1f} ms",
            )
        )
    for kind, (title_like, body_like) in likes[large].items():
        rows.append(
            Row(
                "search",
                f"{kind} at {large:,} versions: the old title LIKE / a body LIKE, median (same run)",
                f"{title_like:.0f} / {body_like:.0f} ms",
                "",
                f"index = {results[large][kind][0]:.1f} ms: "
                f"{title_like / max(results[large][kind][0], 1e-3):.0f}x faster than the title LIKE; it reads bodies",
            )
        )
    rows.append(
        Row(
            "search",
            "index size per version (SQLite FTS5, contentless, positions kept)",
            f"{bytes_per_version[large]:.0f} B",
            "",
            f"at {small:,}: {bytes_per_version[small]:.0f} B",
        )
    )
    return rows
