"""``procwatch search``: the archive's every version, from the command line."""

from __future__ import annotations

import json

from storage import Store
from tests.storage.test_search import BODY, URL, page
from tests.support.cli import procwatch


def test_search_prints_hits_and_json_and_refuses_a_query_it_cannot_run(sqlite_store: Store) -> None:
    db = str(sqlite_store.engine.url.database)
    sqlite_store.writer.record("spp", page(1, BODY + "\n会议要求严厉打击涉企违法犯罪。"))
    sqlite_store.writer.record("spp", page(1, BODY))  # the sentence is gone from version 2
    shown = procwatch("search", "涉企違法犯罪", "--db", db)  # Traditional finds Simplified
    assert shown.returncode == 0 and URL.format(1) in shown.stdout
    assert "【涉企违法犯罪】" in shown.stdout and "not in the current version 2" in shown.stdout
    (hit,) = json.loads(procwatch("search", "检察护企 专项", "--db", db, "--json").stdout)["hits"]
    assert hit["versions"] == [1, 2] and hit["current"] and hit["found"] == "检察护企"
    bad = procwatch("search", "NOT 检察", "--db", db)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "nothing to search for" in bad.stderr
    assert procwatch("search", "监察委员会", "--db", db).stdout.strip() == "nothing found"
