"""What captures cost: bytes on disk per capture of a real article page (the shared corpus's pages,
else pages of the same size), beside the page's own size and its gzip (the floor: a capture is the
page compressed plus its headers and the WARC request/response framing), time to write one, and what
1,000 portals cost a month at a stated rate of new versions."""

from __future__ import annotations

import gzip
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Row
from storage.captures import LocalCaptures, Served

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "extraction" / "pages"
VERSIONS_PER_PORTAL_MONTH = 63  # two new articles a day and 5 % of them edited once: a busy provincial portal
HEADERS = [
    ("Server", "nginx"),
    ("Date", "Thu, 03 Dec 2026 02:00:00 GMT"),
    ("Content-Type", "text/html; charset=utf-8"),
    ("Content-Encoding", "gzip"),
    ("Last-Modified", "Wed, 02 Dec 2026 10:00:00 GMT"),
    ("ETag", '"5f3a-5d1b2c3e4f5a6"'),
]


def _pages() -> list[bytes]:
    files = sorted(CORPUS.glob("*.html")) if CORPUS.is_dir() else []
    if files:
        return [path.read_bytes() for path in files]
    body = "<p>" + "检察机关依法平等保护各类经营主体合法权益，持续优化法治化营商环境。" * 18 + "</p>"
    return [f"<html><body><div id='zoom'>{body * 20}{i}</div></body></html>".encode() for i in range(40)]


def run(quick: bool = False) -> list[Row]:
    pages = _pages()[: 12 if quick else None]
    with tempfile.TemporaryDirectory() as name:
        store = LocalCaptures(Path(name))
        started = time.perf_counter()
        refs = []
        for i, page in enumerate(pages):
            served = Served(f"http://www.example.gov.cn/{i}.shtml", 200, "OK", HEADERS, page, datetime.now(UTC))
            refs.append(store.write(served))
        store.sync()
        seconds = (time.perf_counter() - started) / len(pages)
        store.close()
        on_disk = sum(path.stat().st_size for path in Path(name).glob("*.warc.gz")) / len(pages)
    raw = statistics.mean(len(p) for p in pages)
    floor = statistics.mean(len(gzip.compress(p, 6)) for p in pages)
    month = on_disk * VERSIONS_PER_PORTAL_MONTH * 1000
    source = f"{len(pages)} real corpus pages" if CORPUS.is_dir() else f"{len(pages)} pages of 45 KB"
    return [
        Row("captures", f"bytes on disk per capture ({source}, request + response records)", f"{on_disk:,.0f} B"),
        Row("captures", "the page itself / gzip -6 of it (the floor)", f"{raw:,.0f} B / {floor:,.0f} B"),
        Row("captures", "capture size / gzip floor", f"{on_disk / floor:.2f}x"),
        Row("captures", "time to write one (one fsync for all)", f"{seconds * 1000:.2f} ms"),
        Row(
            "captures",
            f"1,000 portals a month at {VERSIONS_PER_PORTAL_MONTH} new versions each",
            f"{month / 1e9:.2f} GB",
        ),
    ]
