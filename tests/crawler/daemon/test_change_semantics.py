"""Removal, restoration, an edit of an article that was republished elsewhere: the same scenario
through `procwatch fetch` and through the daemon, on SQLite and PostgreSQL, records the same events."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from crawler.daemon.options import DaemonOptions
from crawler.daemon.runner import Daemon
from crawler.validate import load
from storage import Store
from storage.kinds import ArticleStatus, EventKind
from tests.conftest import FAST, runtime_for
from tests.support.waiting import until

RECHECK_ALWAYS = "  recheck:\n    - {younger_than: 36500d, every: 1s}\n"
REPOSTED = "/spp/xwfbh/202407/t20240709_660012.shtml"  # the SPP article scjcy reposts in Traditional script
REPOST = "/art/2024/7/10/art_1621004_28810045.html"  # scjcy's repost of it

Check = Callable[[], bool]


async def scenario(mirror, store: Store, advance: Callable[[Check], Awaitable[None]]) -> None:
    """Each step changes the portal, then ``advance`` lets procwatch see it until ``check`` holds."""
    spp = mirror.sites["spp"]
    removed_index = next(i for i, a in enumerate(spp.articles) if a.path != REPOSTED)
    edited_index = next(i for i, a in enumerate(spp.articles) if a.path == REPOSTED)
    removed_url = mirror.url("spp", spp.articles[removed_index].path)
    edited_url = mirror.url("spp", REPOSTED)

    def status(url: str) -> ArticleStatus | None:
        found = store.history.get_article(url)
        return found.article.status if found else None

    def events(kind: EventKind) -> int:
        return len(store.history.events(kinds=[kind], reported_only=False))

    def repost_linked() -> bool:
        """The repost belongs to the SPP original, whichever was crawled first: a republication row when
        the original came first, a link to the original (original_id) when the copy did."""
        original = store.history.get_article(edited_url)
        if original is None:
            return False
        repost = mirror.url("scjcy", REPOST)
        if any(r.url == repost for r in store.history.republications(original.article.id)):
            return True
        copy = store.history.get_article(repost)
        return copy is not None and copy.article.original_id == original.article.id

    await advance(lambda: status(removed_url) == ArticleStatus.live and repost_linked())
    mirror.remove("spp", removed_index)
    await advance(lambda: status(removed_url) == ArticleStatus.removed)
    mirror.restore("spp", removed_index)
    await advance(lambda: status(removed_url) == ArticleStatus.live and events(EventKind.restored) == 1)
    mirror.edit("spp", edited_index, body=spp.articles[edited_index].body + "\n会议还对下一步工作作出部署。")

    def edited() -> bool:
        found = store.history.get_article(edited_url)
        return found is not None and len(found.versions) == 2

    await advance(edited)
    assert events(EventKind.removed) == 1 and events(EventKind.restored) == 1
    assert len(store.history.events(kinds=[EventKind.edited])) == 1  # reported: a real edit of the original
    assert repost_linked()  # the edit did not split the repost from its original


def test_fetch_records_removal_restoration_and_the_edit_of_a_republished_article(mirror, store, tmp_path) -> None:
    config = load(mirror.write_config(tmp_path / "sources.yaml"))

    async def main() -> None:
        async with runtime_for(config, store) as runtime:

            async def advance(check: Check) -> None:
                for source in config.sources:
                    await runtime.fetch(source)
                assert check()

            await scenario(mirror, store, advance)

    asyncio.run(main())


def test_the_daemon_records_the_same(mirror, store, tmp_path: Path) -> None:
    path = mirror.write_config(tmp_path / "sources.yaml", every="1s")
    path.write_text(path.read_text().replace("settings:\n", "settings:\n" + RECHECK_ALWAYS, 1))
    options = DaemonOptions(serve=False, recheck_every=timedelta(seconds=1), fetcher_options=dict(FAST))
    daemon = Daemon(path, store, options)

    async def main() -> None:
        task = asyncio.create_task(daemon.run())

        async def advance(check: Check) -> None:
            assert await until(check, 30, in_thread=True), "the daemon never saw the change"

        try:
            await scenario(mirror, store, advance)
        finally:
            daemon.stopping.set()
            assert await asyncio.wait_for(task, 15) == 0

    asyncio.run(main())

