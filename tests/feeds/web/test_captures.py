"""The page as served, in the web view: each version and the removal link to their capture, which
shows the portal's headers, the digest and the page in a frame that runs nothing and fetches
nothing, with its WARC record to download; in Chromium no request leaves the server."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from starlette.testclient import TestClient
from warcio.archiveiterator import ArchiveIterator

from crawler.demo.server import Page, StaticServer
from crawler.validate import load
from feeds.http import TolerantH11Protocol
from feeds.server import create_app
from storage import Store
from tests.conftest import feed_catalog, runtime_for
from tests.feeds.web.conftest import Archive
from tests.support.waiting import wait_until


def test_versions_and_the_removal_link_to_their_capture(web: TestClient, archive: Archive) -> None:
    edited = archive.store.history.get_article(archive.edited_url)
    assert edited is not None and len(edited.versions) == 2
    article = web.get(f"/articles/{edited.article.id}.json").json()
    links = [v["capture"] for v in article["versions"]]
    assert all(links) and len(set(links)) == 2
    page = web.get(links[-1])
    assert page.status_code == 200 and "sha1:" in page.text and "下载这条 WARC 记录" in page.text
    twin = web.get(links[-1] + ".json").json()
    assert twin["url"] == archive.edited_url and twin["status"] == 200 and twin["version_id"] == edited.versions[-1].id
    served = web.get(twin["page"])
    assert "sandbox" in served.headers["content-security-policy"]
    assert "default-src 'none'" in served.headers["content-security-policy"]
    assert edited.versions[-1].title in served.content.decode("utf-8", "replace")
    record = web.get(twin["record"])
    (entry,) = [r for r in ArchiveIterator(io.BytesIO(record.content)) if r.rec_type == "response"]
    assert entry.rec_headers.get_header("WARC-Target-URI") == archive.edited_url

    removed = archive.store.history.get_article(archive.removed_url)
    assert removed is not None
    events = web.get(f"/articles/{removed.article.id}.json").json()["events"]
    (removal,) = [e for e in events if e["kind"] == "removed"]
    answer = web.get(removal["capture"] + ".json").json()
    assert answer["status"] == 404 and answer["event_id"] is not None
    assert web.get("/captures/999999").status_code == 404
    assert web.get("/captures/999999/page").status_code == 404


playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install -e .[dev])"
)
CHROMIUM = os.environ.get("PROCWATCH_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")

LURES = (
    "<link rel='stylesheet' href='{assets}/style.css'><script src='{assets}/app.js'></script>"
    "<img src='{assets}/logo.png'><script>fetch('{assets}/beacon');</script>"
    "<iframe src='{assets}/frame.html'></iframe>"
)


@pytest.fixture
def captured_portal(tmp_path: Path, sqlite_store: Store) -> Iterator[tuple[str, StaticServer]]:
    """A portal whose article pulls in images, styles, scripts and a frame from an asset server; crawled,
    then the web view served on a real socket. Yields the view's base URL and the asset server."""
    with StaticServer() as assets, StaticServer() as portal:
        lures = LURES.format(assets=assets.base_url)
        portal.set(
            "/202407/t20240709_1.shtml",
            Page(
                (
                    '<html><head><meta name="ArticleTitle" content="检察机关依法履职">'
                    f'<meta name="PubDate" content="2024-07-09 10:00">{lures}</head><body><h1>检察机关依法履职</h1>'
                    '<div class="TRS_Editor"><p>' + "依法平等保护各类经营主体。" * 40 + "</p></div></body></html>"
                ).encode()
            ),
        )
        portal.set(
            "/list/", Page(b'<html><body><ul><li><a href="/202407/t20240709_1.shtml">a</a></li></ul></body></html>')
        )
        config_path = tmp_path / "sources.yaml"
        config_path.write_text(
            "sources:\n  - {id: p, name: 门户, adapter: trs, lists: ['" + portal.url("/list/") + "'], robots: false,"
            " allow_private: true, schedule: {every: 1h}}\n",
            encoding="utf-8",
        )
        config = load(config_path)

        async def crawl() -> None:
            async with runtime_for(config, sqlite_store) as runtime:
                assert (await runtime.fetch(config.get("p"))).summary()["new"] == 1

        asyncio.run(crawl())
        app = create_app(sqlite_store, lambda: feed_catalog(config))
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", http=TolerantH11Protocol)
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        wait_until(lambda: server.started, timeout=20, message="the web view listens")
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}", assets
        finally:
            server.should_exit = True
            thread.join(10)


@pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium on this machine (apt-get install chromium, or set PROCWATCH_CHROMIUM)"
)
def test_a_capture_shown_in_chromium_makes_no_request_beyond_the_server(captured_portal) -> None:
    base, assets = captured_portal
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        requested: list[str] = []  # requests that got an answer (one refused by the policy gets none)
        refused: list[str] = []
        page.on("requestfinished", lambda request: requested.append(request.url))
        page.on("requestfailed", lambda request: refused.append(request.url))
        page.goto(base + "/articles/1")
        page.click("text=抓取时的网页")
        frame = page.frame_locator("iframe.capture")
        assert "依法平等保护各类经营主体" in frame.locator("body").inner_text()
        page.wait_for_load_state("networkidle")
        browser.close()
    assert sum(assets.requests.values()) == 0, assets.requests  # not one of the page's own assets was fetched
    assert requested and all(url.startswith(base) for url in requested), requested
    assert {url.rsplit("/", 1)[1] for url in refused} <= {"style.css", "logo.png", "app.js", "beacon", "frame.html"}
