"""Captures (storage.captures): a crawl of a local portal that edits an article, takes one down and
puts it back keeps each response that made a version or a removal as WARC records that warcio's own
checker and indexer accept, each linked from its version or event; an unchanged re-check adds none;
`procwatch verify` finds a tampered record; on SQLite the directory defaults to beside the database.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.demo.mirror import Mirror
from crawler.demo.synthetic import bulk_site
from crawler.validate import load
from storage import Store
from storage.captures import default_directory
from storage.db import make_engine
from storage.kinds import EventKind
from tests.conftest import runtime_for
from tests.support.cli import procwatch

ARTICLES = 4


def crawl(config: Path, store: Store, *source_ids: str) -> None:
    loaded = load(config)

    async def main() -> None:
        async with runtime_for(loaded, store) as runtime:
            for source_id in source_ids or ("cap",):
                report = await runtime.fetch(loaded.get(source_id))
                assert not report.errors, report.errors

    asyncio.run(main())


def warcio(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from warcio.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60)


def test_each_version_and_removal_is_kept_as_served_and_linked(store: Store, tmp_path: Path) -> None:
    site = bulk_site(ARTICLES, site_id="cap", per_page=ARTICLES)
    with Mirror([site]) as mirror:
        config = mirror.write_config(tmp_path / "sources.yaml")
        crawl(config, store)  # 4 new articles
        crawl(config, store)  # nothing changed: no capture
        edited = mirror.edit("cap", 1, body=site.articles[1].body + "\n补充：检察机关已依法提起公诉。")
        gone = mirror.delist("cap", 2, remove_page=True)
        crawl(config, store)  # one edit, one removal
        served_edit = mirror.servers["cap"].pages[mirror.article("cap", 1).path].body
    articles = {a.url: a for a in store.browse.latest_articles(10)}
    versions = {url: store.history.versions(a.id) for url, a in articles.items()}
    stored = [(url, v) for url, vs in versions.items() for v in vs]
    assert len(stored) == ARTICLES + 1
    for url, version in stored:
        capture = store.evidence.of_version(version.id)
        assert capture is not None and capture.url == url and capture.status == 200
        warc, status, _, payload = store.evidence.files.read(capture.ref)
        assert warc["WARC-Target-URI"] == url and warc["WARC-Type"] == "response" and status == 200
        assert version.title in payload.decode("utf-8")
    newest_edit = max(versions[edited], key=lambda v: v.version)
    assert store.evidence.files.read(store.evidence.of_version(newest_edit.id).ref)[3] == served_edit
    (removal,) = [e for e, _ in store.history.events(kinds=[EventKind.removed], reported_only=False)]
    answer = store.evidence.of_event(removal.id)
    assert answer is not None and answer.url == gone and answer.status == 404

    files = sorted(Path(store.evidence.files.location).glob("*.warc.gz"))
    checked = warcio("check", "-v", *map(str, files))
    assert checked.returncode == 0 and "digest pass" in checked.stdout, checked.stdout + checked.stderr
    index = [json.loads(line) for line in warcio("index", *map(str, files)).stdout.splitlines()]
    responses = [entry for entry in index if entry["warc-type"] == "response"]
    assert len(responses) == ARTICLES + 1 + 1  # the versions and the removal's answer, no more
    assert store.evidence.verify().ok and store.evidence.verify().unreferenced == 0


def test_a_record_altered_on_disk_is_found_by_verify(tmp_path: Path) -> None:
    db = tmp_path / "archive.sqlite3"
    site = bulk_site(2, site_id="cap", per_page=2)
    with Mirror([site]) as mirror:
        config = mirror.write_config(tmp_path / "sources.yaml")
        assert procwatch("fetch", "cap", "--config", str(config), "--db", str(db)).returncode == 0
    good = procwatch("verify", "--db", str(db), "--json")
    assert good.returncode == 0 and json.loads(good.stdout)["checked"] == 2
    (file,) = (tmp_path / "captures").glob("*.warc.gz")
    data = bytearray(file.read_bytes())
    data[-40] ^= 0xFF  # inside the last record's compressed payload
    file.write_bytes(bytes(data))
    bad = procwatch("verify", "--db", str(db))
    assert bad.returncode == 1 and ("missing" in bad.stdout or "altered" in bad.stdout)


def test_on_sqlite_captures_go_beside_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROCWATCH_CAPTURES")
    engine = make_engine(str(tmp_path / "archive.sqlite3"))
    assert default_directory(engine) == tmp_path / "archive.captures"
    assert not (tmp_path / "archive.captures").exists()  # made by the first capture, not by opening


def test_captures_changes_keeps_only_edits_and_removals(store: Store, tmp_path: Path) -> None:
    site = bulk_site(ARTICLES, site_id="cap", per_page=ARTICLES)
    with Mirror([site]) as mirror:
        config = mirror.write_config(tmp_path / "sources.yaml")
        config.write_text(
            config.read_text(encoding="utf-8").replace("settings:\n", "settings:\n  captures: changes\n", 1)
        )
        crawl(config, store)
        assert store.evidence.verify().checked == 0  # first versions: not kept as served
        mirror.edit("cap", 1, body=site.articles[1].body + "\n补充：检察机关已依法提起公诉。")
        mirror.delist("cap", 0, remove_page=True)
        crawl(config, store)
    found = store.evidence.verify()
    assert found.ok and found.checked == 2 and found.uncaptured_versions == ARTICLES
