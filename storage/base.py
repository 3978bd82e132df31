"""What every part of :class:`storage.Store` is built on: the engine, its read-only twin, transactions."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from storage.backends import CHUNK, READ_ONLY

F = TypeVar("F", bound=Callable[..., Any])


def writes(method: F) -> F:
    """Marks a method of a reading part that writes: :meth:`storage.Store.run` runs it on the writer's threads."""
    method.writes = True  # type: ignore[attr-defined]
    return method


class Repository:
    """A part of :class:`storage.Store` over one engine. ``writes``: every method of the part writes."""

    writes = False

    def __init__(self, engine: Engine):
        self.engine = engine
        # Reads begin a deferred transaction: on SQLite they never take the write lock, so readers
        # (the feed server) do not queue behind the crawler. Writes go through transaction().
        self.read_engine = engine.execution_options(**{READ_ONLY: True})

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():  # a write
            yield session

    @staticmethod
    def _values_present(session: Session, column: Any, values: Sequence[str], *where: Any) -> set[str]:
        """Which of ``values`` appear in ``column`` (rows also matching ``where``), asked in chunks."""
        found: set[str] = set()
        for start in range(0, len(values), CHUNK):
            chunk = list(values[start : start + CHUNK])
            found.update(session.exec(select(column).where(col(column).in_(chunk), *where)).all())
        return found
