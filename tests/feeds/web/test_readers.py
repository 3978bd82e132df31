"""Feeds as real readers show them: newsboat (a text reader) and feedparser's sanitiser."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

NEWSBOAT = shutil.which("newsboat")


def newsboat(tmp_path: Path, *args: str) -> None:
    (tmp_path / "config").write_text("", encoding="utf-8")
    subprocess.run(
        [NEWSBOAT, *args, "-c", str(tmp_path / "cache.db"), "-C", str(tmp_path / "config")],  # type: ignore[list-item]
        check=True,
        timeout=60,
        capture_output=True,
        env={"HOME": str(tmp_path), "TERM": "dumb"},
    )


@pytest.mark.skipif(NEWSBOAT is None, reason="newsboat is not installed (apt-get install newsboat)")
def test_newsboat_subscribed_through_the_opml_shows_every_item_of_every_feed(served: str, tmp_path: Path) -> None:
    """The README's way to subscribe. With one GUID per item across feeds, newsboat kept each item in
    whichever feed it read first: all.xml showed 0 of its 6 items."""
    import feedparser
    import httpx

    opml = httpx.get(f"{served}/feeds.opml").text
    (tmp_path / "feeds.opml").write_text(opml, encoding="utf-8")
    (tmp_path / "urls").write_text("", encoding="utf-8")
    newsboat(tmp_path, "-u", str(tmp_path / "urls"), "-i", str(tmp_path / "feeds.opml"))
    urls = [line.split()[0] for line in (tmp_path / "urls").read_text("utf-8").splitlines() if line.strip()]
    assert f"{served}/all.xml" in urls and len(urls) > 3
    newsboat(tmp_path, "-x", "reload", "-u", str(tmp_path / "urls"))
    with sqlite3.connect(tmp_path / "cache.db") as connection:
        shown = dict(connection.execute("SELECT feedurl, count(*) FROM rss_item GROUP BY feedurl").fetchall())
    for url in urls:
        served_items = len(feedparser.parse(httpx.get(url).content).entries)
        assert shown.get(url, 0) == served_items, (url, shown.get(url, 0), served_items)
    assert shown[f"{served}/all.xml"] > 0


@pytest.mark.skipif(NEWSBOAT is None, reason="newsboat is not installed (apt-get install newsboat)")
def test_newsboat_shows_an_edits_old_and_new_text_apart(served: str, tmp_path: Path) -> None:
    (tmp_path / "urls").write_text(f"{served}/changes.xml\n", encoding="utf-8")
    (tmp_path / "config").write_text("", encoding="utf-8")
    cache = tmp_path / "cache.db"
    subprocess.run(
        [NEWSBOAT, "-x", "reload", "-u", str(tmp_path / "urls"), "-c", str(cache), "-C", str(tmp_path / "config")],
        check=True,
        timeout=60,
        capture_output=True,
        env={"HOME": str(tmp_path), "TERM": "dumb"},
    )
    with sqlite3.connect(cache) as connection:
        items = dict(connection.execute("SELECT title, content FROM rss_item").fetchall())
    edit = next(content for title, content in items.items() if title.startswith("【修改】"))
    text = re.sub(r"<[^>]+>", "", edit)  # what a text reader is left with once tags are gone
    assert "{+(第二阶段)+}" in text  # the insertion, marked in plain text
    assert any(title.startswith("【删除】") for title in items)
