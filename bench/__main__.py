"""python -m bench [NAME ...] [--quick]: run benchmarks and print one table."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime

from bench.common import Row, in_own_process, machine

BENCHMARKS = [
    "extraction",
    "crawl",
    "storage",
    "search",
    "campaigns",
    "serve",
    "web",
    "listing",
    "startup",
    "browser",
    "captures",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)"
    )
    parser.add_argument("--quick", action="store_true", help="small inputs: a smoke run in well under two minutes")
    args = parser.parse_args(argv)
    names = args.names or BENCHMARKS
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r} (known: {', '.join(BENCHMARKS)})")
    rows: list[Row] = []
    loads = []  # what else the machine was doing: each figure is only as good as its quiet
    for name in names:
        loads.append(f"{name} {os.getloadavg()[0]:.2f}")
        rows.extend(in_own_process(name, args.quick))
    print(f"# procwatch benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC{' (quick)' if args.quick else ''}")
    print(f"machine: {machine()}")
    print(f"load average (1 min) as each benchmark began: {', '.join(loads)}; at the end {os.getloadavg()[0]:.2f}\n")
    print("| benchmark | measure | value | target | verdict |")
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        print(f"| {row.benchmark} | {row.measure} | {row.value} | {row.target} | {row.verdict} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
