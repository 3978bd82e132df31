"""The storage API the pipeline, the feeds and the CLI use. No SQL outside this package.

:class:`Store` is one object over one engine, assembled from a repository per concern:
articles (writes), history (reads), browse (the web view's reads), sources (crawl state) and campaigns.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from storage.articles import Extracted, Outcome
from storage.browse import BrowseQueries
from storage.campaigns import FoundMention
from storage.db import READ_ONLY
from storage.ingest import BatchRecording, Recording
from storage.models import Article, ArticleVersion, Event, Republication
from storage.sources import SourceRepository, Validators

BATCH = 200  # pages per transaction at most: long enough to share the commit, short for readers
LINGER = 0.025  # seconds a batch waits for more pages while several sources are writing

P = ParamSpec("P")
T = TypeVar("T")


class Store(BatchRecording, BrowseQueries, SourceRepository):
    """Repository over one database engine."""

    def __init__(self, engine: Engine):
        self.engine = engine
        # Reads begin a deferred transaction: on SQLite they never take the write lock, so readers
        # (the feed server) do not queue behind the crawler. Writes go through transaction().
        self.read_engine = engine.execution_options(**{READ_ONLY: True})
        # SQLite has one writer at a time: threads queueing on its lock only add contention.
        workers = 1 if engine.dialect.name == "sqlite" else 4
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="store")
        # Reads never queue behind writes (SQLite's WAL lets them run beside the writer).
        self._readers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="store-read")
        self._waiting: list[tuple[Recording, asyncio.Future[Outcome]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def run(self, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call a (blocking) store method from async code, on the store's own threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(method, *args, **kwargs))

    async def read(self, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call a store method that only reads from async code, on threads that never wait for writes."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, functools.partial(method, *args, **kwargs))

    async def submit(
        self,
        source_id: str,
        page: Extracted,
        *,
        mentions: Sequence[FoundMention] = (),
        validators: tuple[str, Validators] | None = None,
        baseline: bool = False,
    ) -> Outcome:
        """Record a fetched page from async code (group commit): the page is written with the others
        submitted while the previous batch was being written, in one transaction, and this returns
        once that transaction has committed. An idle store writes a page at once."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.append((Recording(source_id, page, mentions, validators=validators, baseline=baseline), future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting())
        return await future

    async def _write_waiting(self) -> None:
        crowded = False
        while self._waiting:
            if crowded and len(self._waiting) < BATCH:
                # several crawls are writing at once: a moment's wait fills the batch (a batch of ten
                # cost twice per page what a batch of a hundred does); a lone crawl never waits
                await asyncio.sleep(LINGER)
            batch, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
            crowded = len({recording.source_id for recording, _ in batch}) > 1
            try:
                outcomes = await self.run(self.record_many, [recording for recording, _ in batch])
            except Exception as exc:  # the batch failed as a whole: every page in it reports the error
                outcomes = [exc] * len(batch)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():  # its caller was cancelled; the page is stored all the same
                    continue
                if isinstance(outcome, Exception):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():  # a write
            yield session

    def counts(self) -> dict[str, int]:
        """Row counts, for summaries and health."""
        with Session(self.read_engine) as session:
            return {
                "articles": session.exec(select(func.count()).select_from(Article)).one(),
                "versions": session.exec(select(func.count()).select_from(ArticleVersion)).one(),
                "republications": session.exec(select(func.count()).select_from(Republication)).one(),
                "events": session.exec(select(func.count()).select_from(Event)).one(),
            }
