"""The storage API the pipeline, the feeds and the CLI use. No SQL outside this package.

:class:`Store` is a facade over one engine holding its parts as attributes:

- ``store.writer`` (:class:`~storage.writer.ArchiveWriter`): the one write path of articles and versions;
- ``store.history`` (:class:`~storage.history.HistoryQueries`): articles, versions, events, what is due;
- ``store.browse`` (:class:`~storage.browse.BrowseQueries`): the web view's bounded reads;
- ``store.campaigns`` (:class:`~storage.campaigns.CampaignRepository`): campaigns and their spread;
- ``store.sources`` (:class:`~storage.sources.SourceRepository`): crawl state, lists, validators;
- ``store.search`` (:class:`~storage.search.SearchQueries`): full-text search over every version;
- ``store.outbox`` (:class:`~storage.outbox.OutboxQueries`): what notifications are to tell, and who was told.

Every method is blocking. From async code there is one way to call any of them,
``await store.run(store.part.method, ...)``: a method that writes runs on the writer's threads, one
that only reads on threads that never wait for writes, decided by the part (and the
:func:`~storage.base.writes` marker), never by the caller. Recording a fetched page from async
code is ``await store.submit(...)``, which also groups pages into shared transactions.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ParamSpec, TypeVar

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from storage.backends import READ_ONLY, backend
from storage.browse import BrowseQueries
from storage.campaigns import CampaignRepository
from storage.captures import Captured, Evidence
from storage.decide import Extracted, Outcome, Recording
from storage.history import HistoryQueries
from storage.mentions import FoundMention
from storage.models import Article, ArticleVersion, Event, Republication
from storage.outbox import OutboxQueries
from storage.search import SearchQueries
from storage.sources import SourceRepository, Validators
from storage.writer import ArchiveWriter

BATCH = 200  # pages per transaction at most: long enough to share the commit, short for readers
LINGER = 0.025  # seconds a batch waits for more pages while several sources are writing

P = ParamSpec("P")
T = TypeVar("T")


def _writes(method: Callable[..., object]) -> bool:
    """Whether ``method`` may write: marked so, or a method of a writing part; anything else that is not
    a method of a reading part (a function given the engine, say) is taken to write."""
    if getattr(method, "writes", False):
        return True
    part = getattr(method, "__self__", None)
    return part is None or bool(getattr(part, "writes", True))


class Store:
    """The archive on one database engine."""

    def __init__(self, engine: Engine, *, captures: str | Path | None = None):
        self.engine = engine
        self.read_engine = engine.execution_options(**{READ_ONLY: True})
        self.evidence = Evidence(engine, captures)  # captures under ``captures`` (default: storage.captures)
        self.writer = ArchiveWriter(engine, self.evidence.files)
        self.history = HistoryQueries(engine)
        self.campaigns = CampaignRepository(engine)
        self.browse = BrowseQueries(engine, self.history, self.campaigns)
        self.sources = SourceRepository(engine)
        self.search = SearchQueries(engine)
        self.outbox = OutboxQueries(engine)
        self._executor = ThreadPoolExecutor(max_workers=backend(engine).writer_threads, thread_name_prefix="store")
        # Reads never queue behind writes (SQLite's WAL lets them run beside the writer).
        self._readers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="store-read")
        self._waiting: list[tuple[Recording, asyncio.Future[Outcome]]] = []
        self._writer_task: asyncio.Task[None] | None = None

    async def run(self, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call a (blocking) store method from async code, on the threads its kind of work belongs on."""
        executor = self._executor if _writes(method) else self._readers
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, functools.partial(method, *args, **kwargs))

    async def submit(
        self,
        source_id: str,
        page: Extracted,
        *,
        mentions: Sequence[FoundMention] = (),
        validators: tuple[str, Validators] | None = None,
        baseline: bool = False,
        capture: Captured | None = None,
    ) -> Outcome:
        """Record a fetched page from async code (group commit): the page is written with the others
        submitted while the previous batch was being written, in one transaction, and this returns
        once that transaction has committed. An idle store writes a page at once. ``capture``: the
        response as served (:meth:`Evidence.capture`), kept with the version if the page makes one."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        recording = Recording(source_id, page, mentions, validators=validators, baseline=baseline, capture=capture)
        self._waiting.append((recording, future))
        if self._writer_task is None or self._writer_task.done():
            self._writer_task = asyncio.create_task(self._write_waiting())
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
                outcomes = await self.run(self.writer.record_many, [recording for recording, _ in batch])
            except Exception as exc:  # the batch failed as a whole: every page in it reports the error
                outcomes = [exc] * len(batch)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():  # its caller was cancelled; the page is stored all the same
                    continue
                if isinstance(outcome, Exception):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    def counts(self) -> dict[str, int]:
        """Row counts, for summaries and health."""
        with Session(self.read_engine) as session:
            return {
                "articles": session.exec(select(func.count()).select_from(Article)).one(),
                "versions": session.exec(select(func.count()).select_from(ArticleVersion)).one(),
                "republications": session.exec(select(func.count()).select_from(Republication)).one(),
                "events": session.exec(select(func.count()).select_from(Event)).one(),
            }
