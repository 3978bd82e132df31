"""The storage API the pipeline, the feeds and the CLI use. No SQL outside this package.

:class:`Store` is one object over one engine, assembled from a repository per concern:
articles (writes), history (reads), browse (the web view's reads), sources (crawl state) and campaigns.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from storage.articles import ArticleRepository
from storage.browse import BrowseQueries
from storage.db import READ_ONLY
from storage.models import Article, ArticleVersion, Event, Republication
from storage.sources import SourceRepository

P = ParamSpec("P")
T = TypeVar("T")


class Store(ArticleRepository, BrowseQueries, SourceRepository):
    """Repository over one database engine."""

    def __init__(self, engine: Engine):
        self.engine = engine
        # Reads begin a deferred transaction: on SQLite they never take the write lock, so readers
        # (the feed server) do not queue behind the crawler. Writes go through transaction().
        self.read_engine = engine.execution_options(**{READ_ONLY: True})
        # SQLite has one writer at a time: threads queueing on its lock only add contention.
        workers = 1 if engine.dialect.name == "sqlite" else 4
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="store")

    async def run(self, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call a (blocking) store method from async code, on the store's own threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(method, *args, **kwargs))

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
