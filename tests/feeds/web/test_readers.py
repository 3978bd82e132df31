"""Feeds as real readers show them: newsboat (a text reader) and feedparser's sanitiser."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

NEWSBOAT = shutil.which("newsboat")


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
