"""CLI start-up: wall time of ``procwatch --help`` and ``procwatch sources`` in a fresh interpreter
(each run a new process, as a user or a shell completion pays it). Target: median under 0.5 s."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import Row, verdict

TARGET_S = 0.5
ROOT = Path(__file__).resolve().parents[1]


def _median_seconds(args: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "crawler", *args], cwd=ROOT, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(quick: bool = False) -> list[Row]:
    runs = 3 if quick else 11
    rows = []
    for args in (["--help"], ["sources", "--config", str(ROOT / "sources.yaml")]):
        seconds = _median_seconds(args, runs)
        rows.append(
            Row(
                "startup",
                f"procwatch {args[0]} (median of {runs})",
                f"{seconds:.2f} s",
                f"< {TARGET_S} s",
                verdict(seconds, TARGET_S, higher_is_better=False),
            )
        )
    return rows
