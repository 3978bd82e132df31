"""`python -m bench --quick` runs and prints every figure (a smoke run; timings are not judged here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from crawler.browser import chromium_path
from crawler.config import BrowserSettings

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"  # the real pages the extraction figures are measured on


def test_quick_benchmark_prints_every_figure() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    measures = " ".join(rows)
    # the extraction figures need the shared corpus; without it the row says so instead
    extraction = ("extract_article", "trafilatura") if CORPUS.is_dir() else ("not run: no corpus at",)
    # the browser figures need Playwright and Chromium; without them the row says which is missing
    browser = ("requests per challenge cookie",) if chromium_path(BrowserSettings()) else ("browser | not run:",)
    for figure in (
        *extraction,
        *browser,
        "first cycle / ideal",
        "steady-state cycle / ideal",
        "share of 304",
        "peak memory",
        "ingest on SQLite",
        "one transaction per article",
        "bytes per stored version",
        "`all` feed",
        "campaigns | throughput",
        "/all.xml p50",
        "links in one <div>",
        "rare term (one article)",
        "index size per version",
        "capture size / gzip floor",
    ):
        assert figure in measures, figure
    assert "machine:" in result.stdout


def test_unknown_benchmark_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "nope"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "unknown benchmark 'nope'" in result.stderr
