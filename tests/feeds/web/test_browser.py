"""The web view in a real browser (Playwright driving the system's Chromium): pages render without
console errors, links lead somewhere, the diff view shows the change, a feed opened in the browser is a
page. Set PROCWATCH_SCREENSHOTS=docs/screenshots to refresh the README's screenshots.

Skipped, saying why, where Playwright or Chromium is missing (`.ci/run` installs both).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.feeds.web.conftest import NEW

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e .[dev])")
CHROMIUM = os.environ.get("PROCWATCH_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium on this machine (apt-get install chromium, or set PROCWATCH_CHROMIUM)"
)


@pytest.fixture
def browser_page(served: str) -> Iterator[tuple[object, list[str]]]:
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="zh-CN")
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        yield page, problems
        browser.close()


def shoot(page, name: str, tmp_path: Path) -> None:
    directory = Path(os.environ.get("PROCWATCH_SCREENSHOTS") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


def test_every_page_renders_and_every_link_on_it_answers(browser_page, served, archive, tmp_path) -> None:
    page, problems = browser_page
    visited: set[str] = set()
    for name, path in [
        ("overview", "/"),
        ("sources", "/sources"),
        ("source", "/sources/spp"),
        ("articles", "/articles?source=spp"),
        ("campaigns", "/campaigns"),
        ("campaign", "/campaigns/检察护企"),
        ("feeds", "/feeds"),
    ]:
        answer = page.goto(served + path)
        assert answer is not None and answer.status == 200, path
        assert page.locator("h1").first.inner_text().strip(), path
        shoot(page, name, tmp_path)
        for href in page.eval_on_selector_all("a[href^='/']", "links => links.map(a => a.getAttribute('href'))"):
            if href not in visited:
                visited.add(href)
                assert page.request.get(served + href).status == 200, (path, href)
    assert len(visited) > 30
    assert problems == []


def test_navigation_search_and_the_diff_view(browser_page, served, archive, tmp_path) -> None:
    page, problems = browser_page
    page.goto(served + "/")
    page.click("nav >> text=文章")
    page.fill("input[name=q]", "护企")
    page.click("button[type=submit]")
    assert page.url.startswith(served + "/articles?q=")
    titles = page.locator("table a[href^='/articles/']").all_inner_texts()
    found = page.locator("table mark").all_inner_texts()  # each result shows where its text has the words
    assert titles and len(found) == len(titles) and set(found) == {"护企"}
    page.goto(served + "/")
    page.locator("table .badge.edited").first.locator("xpath=../..").locator("a").first.click()
    assert page.locator(".diff-inline ins").first.inner_text() == NEW.removeprefix("专项行动")
    shoot(page, "article-diff-inline", tmp_path)
    page.check("input[value=side]")
    page.click("#diff ~ form button[type=submit]")
    assert page.locator(".diff-new ins").first.inner_text() == NEW.removeprefix("专项行动")
    assert page.locator(".diff-old").inner_text().count("第二阶段") == 0
    shoot(page, "article-diff-side", tmp_path)
    assert problems == []


def test_a_feed_opened_in_the_browser_is_a_readable_page(browser_page, served, tmp_path) -> None:
    page, problems = browser_page
    page.goto(served + "/all.xml")
    assert "RSS/Atom 订阅源" in page.locator("body").inner_text()
    assert page.locator("article h2 a").count() >= 5
    shoot(page, "feed-in-browser", tmp_path)
    page.goto(served + "/changes.atom")
    assert page.locator("article").count() >= 2  # the edit and the removal
    assert problems == []
