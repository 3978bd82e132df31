"""Processes a test starts (daemons, cluster workers): stopped as a user stops them, and killed on
the way out whatever happened, so none outlives its test."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager


@contextmanager
def started(processes: Sequence[subprocess.Popen[str]]) -> Iterator[Sequence[subprocess.Popen[str]]]:
    try:
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()


def stop(processes: Sequence[subprocess.Popen[str]], timeout: float = 30) -> list[int]:
    """SIGTERM to each, then their exit codes."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
    return [process.wait(timeout=timeout) for process in processes]
