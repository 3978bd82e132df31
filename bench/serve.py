"""The feed server under load: 20 concurrent readers while a writer stores new articles, on SQLite.

The archive (50,000 versions; 1,000,000 in the full run) is built with the storage benchmark's bulk
builder; `procwatch serve` runs in its own process, as in production; the readers (threads with
httpx clients) and the writer (store.writer.record, as the crawler stores) share this process. Measured:
/all.xml and /healthz latency percentiles, errors, and the writer's throughput meanwhile.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.common import Row, verdict
from bench.storage import CONFIG, build_archive

READERS = 20
FEED_P50_MS, FEED_P99_MS, HEALTH_P99_MS = 20.0, 100.0, 50.0
ROOT = Path(__file__).resolve().parents[1]


WRITER = """
import sys, time
from bench.storage import pages
from storage import Store, make_engine
store, until, n = Store(make_engine(sys.argv[1])), time.perf_counter() + float(sys.argv[2]), 0
started = time.perf_counter()
for page in pages(100_000, seed=99):
    if time.perf_counter() > until:
        break
    store.writer.record(f"s{n % 20}", page)
    n += 1
print(n, time.perf_counter() - started)
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def load(directory: Path, versions: int, seconds: float) -> dict[str, float]:
    database = directory / f"serve-{versions}.sqlite3"
    build_archive(database, versions)
    config = directory / "sources.yaml"
    config.write_text(
        "sources:\n"
        + "".join(
            f"  - {{id: {s.id}, name: {s.name}, adapter: trs, lists: ['{s.lists[0]}'], schedule: {{every: 1h}}}}\n"
            for s in CONFIG.sources
        ),
        encoding="utf-8",
    )
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "crawler", "serve", "--port", str(port), "--config", str(config), "--db", str(database)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        feed_ms: list[float] = []
        health_ms: list[float] = []
        errors = [0]
        stop = threading.Event()
        written = [0]

        def reader(index: int) -> None:
            with httpx.Client(base_url=base, timeout=30) as client:
                while not stop.is_set():
                    for path, into in (("/all.xml", feed_ms), ("/healthz", health_ms)):
                        started = time.perf_counter()
                        try:
                            ok = client.get(path).status_code == 200
                        except httpx.HTTPError:
                            ok = False
                        into.append((time.perf_counter() - started) * 1000)
                        errors[0] += not ok

        # The writer in a process of its own, as the crawler is: threads here would only measure the GIL.
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(database), str(seconds)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        threads = [threading.Thread(target=reader, args=(i,)) for i in range(READERS)]
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join(60)
        out, _ = writer.communicate(timeout=120)
        written[0], elapsed = int(out.split()[0]), float(out.split()[1])
    finally:
        server.terminate()
        server.wait(30)
    return {
        "feed_p50": statistics.median(feed_ms) if feed_ms else float("nan"),
        "feed_p99": _percentile(feed_ms, 0.99),
        "health_p99": _percentile(health_ms, 0.99),
        "requests": len(feed_ms) + len(health_ms),
        "errors": errors[0],
        "writes": written[0] / elapsed,
    }


def run(quick: bool = False) -> list[Row]:
    rows = []
    sizes = (5_000,) if quick else (50_000, 1_000_000)
    with tempfile.TemporaryDirectory() as name:
        for versions in sizes:
            r = load(Path(name), versions, 3 if quick else 15)
            label = f"{versions:,} versions, {READERS} readers while a writer stores articles; the 2 s render cache on"
            rows += [
                Row(
                    "serve",
                    f"/all.xml p50 ({label})",
                    f"{r['feed_p50']:.1f} ms",
                    f"<= {FEED_P50_MS:.0f} ms",
                    verdict(r["feed_p50"], FEED_P50_MS, higher_is_better=False),
                ),
                Row(
                    "serve",
                    "/all.xml p99",
                    f"{r['feed_p99']:.1f} ms",
                    f"<= {FEED_P99_MS:.0f} ms",
                    verdict(r["feed_p99"], FEED_P99_MS, higher_is_better=False),
                ),
                Row(
                    "serve",
                    "/healthz p99",
                    f"{r['health_p99']:.1f} ms",
                    f"<= {HEALTH_P99_MS:.0f} ms",
                    verdict(r["health_p99"], HEALTH_P99_MS, higher_is_better=False),
                ),
                Row(
                    "serve",
                    "errors / requests",
                    f"{r['errors']} / {r['requests']}",
                    "0",
                    "met" if r["errors"] == 0 else "missed",
                ),
                Row("serve", "writer meanwhile (store.writer.record)", f"{r['writes']:.0f} versions/s"),
            ]
    return rows
