"""The browser fetcher behind a JavaScript challenge (crawler.demo.challenge on 127.0.0.1): what
Chromium costs in memory, how long a challenge takes to pass (cold: the browser launched; warm: it is
running), how many requests one challenge's cookies carry, and what a page behind the challenge
costs against the same page without one (the plain fetcher on the same server: the floor).

Pages are the shared corpus's real article pages (../shared/corpus) when present, else pages of the
same size (45 KB). The server answers in a thread of this process; the fetcher has no politeness
delay (min_delay 0), so the figures are procwatch's own cost, not the pause it keeps between requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from collections.abc import AsyncIterator
from pathlib import Path

from bench.common import Row
from crawler.access import Access
from crawler.browser import chromium_path
from crawler.config import BrowserSettings, Config, FetchMode, Settings
from crawler.demo.challenge import Challenge
from crawler.demo.server import Page, StaticServer
from crawler.fetch import Fetcher
from crawler.runtime import Runtime

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "extraction" / "pages"
USES = 50  # requests one challenge's cookies are good for (the gateway's setting)


def _pages(count: int) -> dict[str, Page]:
    files = sorted(CORPUS.glob("*.html"))[:count] if CORPUS.is_dir() else []
    if files:
        return {f"/p/{i}.html": Page(path.read_bytes()) for i, path in enumerate(files)}
    body = "<p>" + "检察机关依法平等保护各类经营主体合法权益，持续优化法治化营商环境。" * 18 + "</p>"
    page = f"<html><head><title>t</title></head><body><div id='zoom'>{body * 20}</div></body></html>".encode()
    return {f"/p/{i}.html": Page(page) for i in range(count)}


def _chromium_memory(executable: str) -> tuple[float, float]:
    """(RSS, PSS) in MiB summed over the running Chromium processes (PSS shares shared pages out)."""
    rss = pss = 0
    real = os.path.realpath(executable)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            exe = os.path.realpath(f"/proc/{pid}/exe")
            if not (exe == real or os.path.basename(exe) in ("chromium", "chrome", "headless_shell")):
                continue
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            continue
    return rss / 1024, pss / 1024


async def _measure(quick: bool, executable: str) -> list[Row]:
    pages = _pages(12 if quick else 40)
    paths = list(pages)
    runs = 3 if quick else 7
    auto, plain = Access(robots=False, mode=FetchMode.auto), Access(robots=False)
    rows: list[Row] = []
    with StaticServer(pages) as open_server, StaticServer(pages) as gated:
        gate = Challenge(uses=USES)
        gated.gate = gate
        config = Config(settings=Settings(browser=BrowserSettings(executable=executable)))

        @contextlib.asynccontextmanager
        async def fetcher() -> AsyncIterator[Fetcher]:
            # the runtime's fetcher, as a crawl gets it; no pause between requests, 127.0.0.1 as the internet
            async with Runtime(config, None, fetcher_options={"min_delay": 0, "address_policy": lambda a: True}) as rt:
                yield rt.fetcher

        # plain, no challenge: the floor for one page
        async with fetcher() as f:
            await f.get(open_server.url(paths[0]), access=plain)  # connection made
            started = time.perf_counter()
            for path in paths:
                await f.get(open_server.url(path), access=plain)
            plain_page = (time.perf_counter() - started) / len(paths)

        cold, warm = [], []
        for _ in range(runs):
            async with fetcher() as f:
                gate.expire()
                started = time.perf_counter()
                await f.get(gated.url(paths[0]), access=auto)  # launch + pass
                cold.append(time.perf_counter() - started)
                rss, pss = _chromium_memory(executable)
                for _ in range(2):
                    await f.get(gated.url(paths[2]), access=auto)  # the cookies carry a plain request
                    gate.expire()
                    started = time.perf_counter()
                    await f.get(gated.url(paths[1]), access=auto)
                    warm.append(time.perf_counter() - started)

        # a crawl's worth of pages behind the challenge: passes, then the plain client with the cookies
        gate.expire()
        passed_before, through_before = gate.passed, gate.let_through
        requests_before = sum(gated.requests.values())
        async with fetcher() as f:
            started = time.perf_counter()
            for _ in range(3 if quick else 5):
                for path in paths:
                    await f.get(gated.url(path), access=auto)
            behind = time.perf_counter() - started
            fetched = len(paths) * (3 if quick else 5)
            launches = f.browser_launches
        per_cookie = (gate.let_through - through_before) / max(1, gate.passed - passed_before)
        requests_per_page = (sum(gated.requests.values()) - requests_before) / fetched

        # fetch: browser: every page rendered
        async with fetcher() as f:
            await f.get(gated.url(paths[0]), access=Access(robots=False, mode=FetchMode.browser))
            started = time.perf_counter()
            for path in paths[: 6 if quick else 15]:
                await f.get(gated.url(path), access=Access(robots=False, mode=FetchMode.browser))
            rendered = (time.perf_counter() - started) / (6 if quick else 15)

    source = f"{len(pages)} real corpus pages" if CORPUS.is_dir() else f"{len(pages)} pages of 45 KB"
    cold_s, warm_s = statistics.median(cold), statistics.median(warm)
    behind_page = behind / fetched
    rows += [
        Row("browser", "Chromium memory while passing (RSS / PSS, all its processes)", f"{rss:.0f} / {pss:.0f} MiB"),
        Row("browser", f"challenge passed, cold: launch + pass (median of {runs})", f"{cold_s * 1000:.0f} ms"),
        Row("browser", f"challenge passed, warm (median of {len(warm)})", f"{warm_s * 1000:.0f} ms"),
        Row("browser", f"plain page, no challenge ({source}): the floor", f"{plain_page * 1000:.1f} ms"),
        Row("browser", "requests per challenge cookie (gateway allows 50)", f"{per_cookie:.1f}"),
        Row(
            "browser",
            "requests to the portal per page behind the challenge (floor: 1)",
            f"{requests_per_page:.3f}",
        ),
        Row(
            "browser",
            f"page behind the challenge, {fetched} pages, {launches} launch / plain page",
            f"{behind_page * 1000:.1f} ms ({behind_page / plain_page:.1f}x)",
        ),
        Row(
            "browser",
            "page rendered by the browser (fetch: browser) / plain page",
            f"{rendered * 1000:.0f} ms ({rendered / plain_page:.0f}x)",
        ),
    ]
    return rows


def run(quick: bool = False) -> list[Row]:
    executable = chromium_path(BrowserSettings())
    try:
        import playwright  # noqa: F401
    except ImportError:
        return [Row("browser", "not run: Playwright is not installed", "-")]
    if executable is None:
        return [Row("browser", "not run: no Chromium on this machine", "-")]
    return asyncio.run(_measure(quick, executable))
