"""How long a failing source waits before the daemon tries it again: the daemon's policy, which
storage only applies (``Store.record_source_run(..., backoff=policy)``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off for a failing source: base, 2 x base, 4 x base ... up to ``cap``."""

    base: timedelta = timedelta(minutes=1)
    cap: timedelta = timedelta(hours=6)

    def __call__(self, failures: int) -> timedelta:
        return min(self.cap, self.base * 2 ** max(0, failures - 1))
