"""What every benchmark shares: the machine description, a timer, and the result table."""

from __future__ import annotations

import importlib
import multiprocessing
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection


@dataclass
class Row:
    benchmark: str
    measure: str
    value: str
    target: str = ""
    verdict: str = ""


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def best_of(runs: int, work: Callable[[], object]) -> tuple[float, float]:
    """(best, median) wall seconds of ``runs`` runs."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def verdict(value: float, target: float, *, higher_is_better: bool = True) -> str:
    met = value >= target if higher_is_better else value <= target
    if met:
        return "met"
    ratio = target / value if higher_is_better else value / target
    return f"missed by {ratio:.1f}x"


def run_benchmark(name: str, quick: bool, out: Connection) -> None:
    out.send(importlib.import_module(f"bench.{name}").run(quick=quick))


def in_own_process(name: str, quick: bool) -> list[Row]:
    """One benchmark in a fresh interpreter: what an earlier one left in memory (the extraction peers'
    objects made the cyclic GC of a later ingest 35 % slower) never weighs on the next."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=run_benchmark, args=(name, quick, send))
    process.start()
    send.close()
    try:
        rows: list[Row] = receive.recv()
    except EOFError:
        process.join()
        raise SystemExit(f"benchmark {name} failed (exit code {process.exitcode})") from None
    process.join()
    return rows
