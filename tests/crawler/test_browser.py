"""The browser fetcher against a local JavaScript challenge (crawler.demo.challenge): a source behind
it is crawled completely with ``fetch: auto``, the browser passing one challenge per cookie lifetime
and the plain client carrying the rest; ``fetch: browser`` renders pages built by script; every
request the browser makes is vetted by the address policy, and what a challenge does not need is
never fetched.

Addresses stand in for the internet as in test_addresses.py: 127.0.0.1 plays a public portal,
127.0.0.2 an internal service. Skipped, saying why, where Playwright or Chromium is missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.access import Access
from crawler.browser import chromium_path
from crawler.config import BrowserSettings, FetchMode
from crawler.demo.challenge import LIBRARY, Challenge
from crawler.demo.server import Page, StaticServer
from crawler.errors import Blocked, BrowserUnavailable, TransportError
from crawler.fetch import Fetcher
from crawler.validate import load
from storage import Store
from tests.conftest import runtime_for

pytest.importorskip("playwright.async_api", reason="Playwright is not installed (pip install -e .[dev])")
CHROMIUM = chromium_path(BrowserSettings())
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium on this machine (apt-get install chromium, or set PROCWATCH_CHROMIUM)"
)
PORTAL, INTERNAL = "127.0.0.1", "127.0.0.2"
ARTICLES = 12


def article(i: int) -> bytes:
    return (
        f'<html><head><meta name="ArticleTitle" content="检察护企专项行动通报{i}">'
        f'<meta name="PubDate" content="2024-07-{i + 1:02d} 10:00"></head><body><h1>检察护企专项行动通报{i}</h1>'
        f'<div class="TRS_Editor"><p>第{i}篇。'
        + "检察机关依法平等保护各类经营主体合法权益。" * 20
        + "</p></div></body></html>"
    ).encode()


def portal_pages() -> dict[str, Page]:
    items = "".join(
        f'<li><a href="/202407/t202407{i + 1:02d}_{i}.shtml">通报{i}</a> <span>2024-07-{i + 1:02d}</span></li>'
        for i in range(ARTICLES)
    )
    pages = {"/list/": Page(f"<html><body><ul>{items}</ul></body></html>".encode())}
    pages |= {f"/202407/t202407{i + 1:02d}_{i}.shtml": Page(article(i)) for i in range(ARTICLES)}
    pages |= {"/logo.png": Page(b"\x89PNG", content_type="image/png"), "/c.css": Page(b"", content_type="text/css")}
    return pages


@pytest.fixture
def internal() -> Iterator[StaticServer]:
    with StaticServer(
        {"/secret": Page(b"secret"), "/evil.js": Page(b"", content_type="text/javascript")}, host=INTERNAL
    ) as s:
        yield s


def write_config(tmp_path: Path, list_url: str, **settings: str) -> Path:
    browser = ", ".join(f"{k}: {v}" for k, v in settings.items())
    path = tmp_path / "sources.yaml"
    path.write_text(
        f"settings: {{browser: {{{browser}}}}}\n"
        "sources:\n"
        f"  - {{id: portal, name: 门户, adapter: trs, lists: ['{list_url}'], robots: false, fetch: auto,"
        " schedule: {every: 1h}}\n",
        encoding="utf-8",
    )
    return path


@needs_chromium
def test_a_source_behind_a_challenge_is_crawled_with_one_pass_per_cookie_lifetime(
    tmp_path: Path, sqlite_store: Store
) -> None:
    gate = Challenge(uses=5, extra_html="<link rel='stylesheet' href='/c.css'><img src='/logo.png'>")
    with StaticServer(portal_pages()) as server:
        server.gate = gate
        config = load(write_config(tmp_path, server.url("/list/")))

        async def main() -> tuple[dict[str, int], dict[str, int], int, int, int]:
            async with runtime_for(config, sqlite_store, address_policy=lambda a: a == PORTAL) as runtime:
                first = (await runtime.fetch(config.get("portal"))).summary()
                passes_in_first_crawl = runtime.fetcher.challenges_passed
                gate.expire()  # the cookies' lifetime ends: the next crawl meets the challenge again
                server.set("/202407/t20240731_99.shtml", Page(article(ARTICLES)))
                new_item = '<ul><li><a href="/202407/t20240731_99.shtml">新通报</a></li>'.encode()
                listing = server.pages["/list/"].body.replace(b"<ul>", new_item)
                server.set("/list/", Page(listing))
                second = (await runtime.fetch(config.get("portal"))).summary()
                health = runtime.health(lambda ids: {})["browser"]
                assert (
                    health["challenges_passed"] == runtime.fetcher.challenges_passed and health["rendered_hosts"] == []
                )
                return first, second, passes_in_first_crawl, health["challenges_passed"], health["launches"]

        first, second, passes_first, passes, launches = asyncio.run(main())
    assert first["new"] == ARTICLES and first["blocked"] == first["error"] == 0
    assert second["new"] == 1 and second["blocked"] == 0
    # a list and 12 articles through cookies good for 5 requests each: 3 passes, not one per page; then
    # every cookie used up before the next pass (the second crawl re-checks the articles too)
    assert passes_first == 3 and passes == gate.passed == -(-gate.let_through // gate.uses)
    assert launches == 1  # the one browser of the process, kept between crawls
    assert gate.let_through > 2 * passes  # the plain client, with the browser's cookies, fetched most pages
    assert server.requests["/logo.png"] == server.requests["/c.css"] == 0  # a challenge needs neither
    # each challenge met once: the browser is shown the one the plain request got, and asks for its script once
    assert gate.issued == passes and server.requests[LIBRARY] == passes


@needs_chromium
def test_an_idle_browser_is_closed_and_launched_again_for_the_next_cookie_lifetime() -> None:
    gate = Challenge()
    settings = BrowserSettings(idle="0.2s")
    with StaticServer(portal_pages()) as server:
        server.gate = gate

        async def main() -> list[int]:
            async with Fetcher(min_delay=0, address_policy=lambda a: a == PORTAL, browser=settings) as fetcher:
                auto = Access(robots=False, mode=FetchMode.auto)
                launches = []
                for _lifetime in range(2):
                    for i in range(3):
                        response = await fetcher.get(server.url(f"/202407/t202407{i + 1:02d}_{i}.shtml"), access=auto)
                        assert f"第{i}篇" in response.text
                    launches.append(fetcher.browser_launches)
                    async with asyncio.timeout(10):
                        while fetcher.browser_running:  # closed once idle, its memory given back
                            await asyncio.sleep(0.05)
                    gate.expire()
                return launches

        assert asyncio.run(main()) == [1, 2]
    assert gate.passed == 2


SCRIPTED = b"""<html><head><title>t</title></head><body><div id="zoom"></div><script>
fetch('/data.json').then(function (r) { return r.json(); }).then(function (d) {
  document.getElementById('zoom').innerHTML = '<p>' + d.text + '</p>';
});
</script></body></html>"""


@needs_chromium
def test_fetch_browser_renders_a_page_built_by_its_script_behind_the_challenge() -> None:
    gate = Challenge()
    text = "最高人民检察院发布依法惩治知识产权犯罪典型案例。"
    with StaticServer({"/p": Page(SCRIPTED), "/data.json": Page(f'{{"text": "{text}"}}'.encode())}) as server:
        server.gate = gate

        async def main() -> str:
            async with Fetcher(min_delay=0, address_policy=lambda a: a == PORTAL) as fetcher:
                response = await fetcher.get(server.url("/p"), access=Access(robots=False, mode=FetchMode.browser))
                return response.decode("gbk").text  # a source's encoding: not for the browser's own UTF-8

        rendered = asyncio.run(main())
    assert f"<p>{text}</p>" in rendered and gate.passed == 1


@needs_chromium
def test_requests_the_browser_makes_to_internal_addresses_are_refused(internal: StaticServer) -> None:
    secret = f"http://{INTERNAL}:{internal._httpd.server_address[1]}"
    lure = (
        f"<script src='{secret}/evil.js'></script><img src='{secret}/secret'>"
        f"<script>fetch('{secret}/secret').catch(function () {{}});"
        f"var x = new XMLHttpRequest(); x.open('GET', '{secret}/secret'); x.send();</script>"
    )
    gate = Challenge(extra_html=lure)
    pages = portal_pages() | {"/away": Page(b"", status=302, headers={"Location": f"{secret}/secret"})}
    with StaticServer(pages) as server:
        server.gate = gate

        async def main() -> str:
            async with Fetcher(min_delay=0, address_policy=lambda a: a == PORTAL) as fetcher:
                response = await fetcher.get(server.url("/list/"), access=Access(robots=False, mode=FetchMode.auto))
                with pytest.raises(TransportError, match="address refused"):  # a redirect hop the browser follows
                    await fetcher.get(server.url("/away"), access=Access(robots=False, mode=FetchMode.browser))
                return response.text

        assert "通报0" in asyncio.run(main())
    assert sum(internal.requests.values()) == 0
    assert gate.passed == 1  # /away reused the cookies of the list page's pass


@needs_chromium
def test_with_the_default_policy_the_browser_cannot_reach_loopback(tmp_path: Path) -> None:
    """The real policy (is_public) with one address counted as public: the portal on 127.0.0.3."""
    from crawler.addresses import is_public

    with StaticServer({"/secret": Page(b"secret")}, host="127.0.0.1") as loopback:
        lure = f"<script>fetch('{loopback.url('/secret')}').catch(function () {{}});</script>"
        gate = Challenge(extra_html=lure)
        with StaticServer(portal_pages(), host="127.0.0.3") as server:
            server.gate = gate

            async def main() -> None:
                public = lambda a: a == "127.0.0.3" or is_public(a)  # noqa: E731
                async with Fetcher(min_delay=0, address_policy=public) as fetcher:
                    await fetcher.get(server.url("/list/"), access=Access(robots=False, mode=FetchMode.auto))

            asyncio.run(main())
        assert loopback.requests["/secret"] == 0 and gate.passed == 1


def test_a_missing_browser_is_a_one_line_error_naming_what_to_install() -> None:
    gate = Challenge()
    with StaticServer(portal_pages()) as server:
        server.gate = gate

        async def main() -> None:
            settings = BrowserSettings(executable="/nonexistent/chromium")
            async with Fetcher(min_delay=0, address_policy=lambda a: a == PORTAL, browser=settings) as fetcher:
                await fetcher.get(server.url("/list/"), access=Access(robots=False, mode=FetchMode.auto))

        with pytest.raises(BrowserUnavailable) as caught:
            asyncio.run(main())
    message = str(caught.value)
    assert "\n" not in message and "/nonexistent/chromium" in message and "settings.browser.executable" in message
    assert caught.value.url == server.url("/list/")


@needs_chromium
def test_cookies_the_http_client_cannot_reuse_make_the_host_rendered_by_the_browser() -> None:
    """A gateway that also checks the client's fingerprint (here: a header only the browser sends)."""
    gate = Challenge(browser_header="sec-ch-ua")
    with StaticServer(portal_pages()) as server:
        server.gate = gate

        async def main() -> tuple[list[str], int]:
            async with Fetcher(min_delay=0, address_policy=lambda a: a == PORTAL) as fetcher:
                auto = Access(robots=False, mode=FetchMode.auto)
                texts = []
                for i in range(4):
                    texts.append(
                        (await fetcher.get(server.url(f"/202407/t202407{i + 1:02d}_{i}.shtml"), access=auto)).text
                    )
                return texts, fetcher.challenges_passed

        texts, passes = asyncio.run(main())
    assert all(f"第{i}篇" in text for i, text in enumerate(texts))
    # two passes whose cookies the plain client could not use, then rendered (each refused plain try got
    # a new nonce: the render met the challenge once more), and no plain try for the page after it
    assert passes == 2 and gate.passed == 3 and gate.let_through == 4


@needs_chromium
def test_robots_txt_holds_for_the_browsers_requests_too() -> None:
    """The challenge's own script is disallowed: the browser does not get it, and the page stays a challenge."""
    gate = Challenge()
    pages = portal_pages() | {"/robots.txt": Page(b"User-agent: *\nDisallow: /_c/\n", content_type="text/plain")}
    with StaticServer(pages) as server:
        server.gate = gate

        async def main() -> None:
            async with Fetcher(min_delay=0, address_policy=lambda a: a == PORTAL) as fetcher:
                await fetcher.get(server.url("/list/"), access=Access(mode=FetchMode.auto))

        with pytest.raises(Blocked, match="still there once the browser's page settled"):
            asyncio.run(main())
    assert server.requests[LIBRARY] == 0 and gate.passed == 0


def _chromium_processes() -> list[int]:
    """Chromium's processes started from this one (through Playwright's driver)."""
    import os

    def parent(pid: str) -> int:
        try:
            return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return 0

    mine, found = os.getpid(), []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            exe = os.path.basename(os.path.realpath(f"/proc/{pid}/exe"))
        except OSError:
            continue
        ancestor, hops = int(pid), 0
        while ancestor > 1 and ancestor != mine and hops < 10:
            ancestor, hops = parent(str(ancestor)), hops + 1
        if ancestor == mine and "chrom" in exe:
            found.append(int(pid))
    return found


@needs_chromium
def test_a_killed_browser_is_launched_again_and_the_source_goes_on() -> None:
    import os
    import signal

    gate = Challenge()
    with StaticServer(portal_pages()) as server:
        server.gate = gate

        async def main() -> int:
            async with Fetcher(min_delay=0, address_policy=lambda a: a == PORTAL) as fetcher:
                auto = Access(robots=False, mode=FetchMode.auto)
                await fetcher.get(server.url("/202407/t20240701_0.shtml"), access=auto)
                victims = _chromium_processes()
                assert victims
                for pid in victims:
                    os.kill(pid, signal.SIGKILL)
                async with asyncio.timeout(10):
                    while fetcher.browser_running:
                        await asyncio.sleep(0.05)
                gate.expire()
                response = await fetcher.get(server.url("/202407/t20240702_1.shtml"), access=auto)
                assert "第1篇" in response.text
                return fetcher.browser_launches

        assert asyncio.run(main()) == 2
    assert gate.passed == 2
