"""`procwatch export`: the dataset round-trips (rows and content hashes equal the archive's) in JSON
Lines, CSV and Parquet on both backends, with a data dictionary naming every column; a source
selection keeps only its articles; the WARC export is accepted by warcio's checker and holds each
selected capture once."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.demo.mirror import Mirror
from crawler.demo.synthetic import bulk_site
from storage import Store
from storage.export import RESOURCES, Format, Selection, count_rows, export_dataset, export_warc
from storage.tables import VERSION
from tests.storage.test_captures import crawl, warcio
from tests.support.cli import procwatch


@pytest.fixture
def filled(store: Store, tmp_path: Path) -> Store:
    """Two sources; one article edited, one taken down."""
    sites = [bulk_site(3, site_id="cap", per_page=3), bulk_site(5, site_id="other", per_page=5)]
    del sites[1].articles[:3]  # texts of its own, not copies of the first site's
    with Mirror(sites) as mirror:
        config = mirror.write_config(tmp_path / "sources.yaml")
        crawl(config, store, "cap", "other")
        mirror.edit("cap", 1, body=sites[0].articles[1].body + "\n补充说明。")
        mirror.delist("cap", 0, remove_page=True)  # off the list while older ones stay: checked, 404
        crawl(config, store, "cap")
    return store


WACZ = "import sys; from wacz.main import main; sys.exit(main(sys.argv[1:]))"


def read_back(path: Path, fmt: Format) -> list[dict[str, object]]:
    if fmt is Format.csv:
        with path.open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    if fmt is Format.jsonl:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    pyarrow = pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed (pip install -e .[dev])")
    return pyarrow.read_table(str(path)).to_pylist()


@pytest.mark.parametrize("fmt", list(Format))
def test_the_dataset_round_trips(filled: Store, tmp_path: Path, fmt: Format) -> None:
    out = tmp_path / f"export-{fmt}"
    written = export_dataset(filled.engine, out, fmt)
    assert written == count_rows(filled.engine) and written["versions"] == 5 + 1 and written["captures"] >= 7
    with filled.engine.connect() as connection:
        hashes = sorted(connection.execute(select(VERSION.c.content_hash)).scalars())
    versions = read_back(out / f"versions.{fmt}", fmt)
    assert sorted(str(row["content_hash"]) for row in versions) == hashes
    package = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    assert [r["name"] for r in package["resources"]] == [name for name, *_ in RESOURCES]
    for resource, (name, table, *_) in zip(package["resources"], RESOURCES, strict=True):
        assert (out / resource["path"]).is_file()
        assert [f["name"] for f in resource["schema"]["fields"]] == list(table.c.keys())
        rows = read_back(out / resource["path"], fmt)
        assert len(rows) == written[name] and all(set(row) == set(table.c.keys()) for row in rows)
    version_fields = {f["name"]: f for f in package["resources"][1]["schema"]["fields"]}
    assert version_fields["id"]["type"] == "integer" and version_fields["fetched_at"]["type"] == "datetime"
    assert "normalised" in version_fields["content_hash"]["description"]


def test_a_selection_keeps_its_articles_and_what_hangs_off_them(filled: Store, tmp_path: Path) -> None:
    written = export_dataset(filled.engine, tmp_path / "one", Format.jsonl, Selection(sources=("other",)))
    assert written["articles"] == 2 and written["versions"] == 2 and written["captures"] == 2
    articles = read_back(tmp_path / "one" / "articles.jsonl", Format.jsonl)
    assert {row["source_id"] for row in articles} == {"other"}


def test_the_warc_export_holds_each_capture_once_and_passes_warcio(filled: Store, tmp_path: Path) -> None:
    out = tmp_path / "cap.warc.gz"
    with out.open("wb") as handle:
        records = export_warc(filled.evidence, handle, Selection(sources=("cap",)))
    # its 3 first versions, the edit and the removal's answer (no revisit: no payload came twice)
    assert records == count_rows(filled.engine, Selection(sources=("cap",)))["captures"] == 5
    checked = warcio("check", str(out))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    index = [json.loads(line) for line in warcio("index", str(out)).stdout.splitlines()]
    assert len(index) == records and {e["warc-type"] for e in index} <= {"response", "revisit"}


def test_the_cli_exports_and_refuses_a_bad_format_in_one_line(tmp_path: Path, sqlite_store: Store) -> None:
    site = bulk_site(2, site_id="cap", per_page=2)
    db = tmp_path / "test.sqlite3"
    with Mirror([site]) as mirror:
        config = mirror.write_config(tmp_path / "sources.yaml")
        assert procwatch("fetch", "cap", "--config", str(config), "--db", str(db)).returncode == 0
    done = procwatch("export", "dataset", "--out", str(tmp_path / "d"), "--format", "jsonl", "--db", str(db))
    assert done.returncode == 0 and "versions.jsonl: 2 rows" in done.stdout
    bad = procwatch("export", "dataset", "--out", str(tmp_path / "d"), "--format", "xlsx", "--db", str(db))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "expected jsonl, csv or parquet" in bad.stderr
    warc = procwatch("export", "warc", "--out", str(tmp_path / "all.warc.gz"), "--db", str(db))
    assert warc.returncode == 0 and "2 records" in warc.stdout and not (tmp_path / "all.warc.gz.part").exists()
    where = ["--db", str(db), "--config", str(config)]
    tagged = procwatch("export", "warc", "--out", str(tmp_path / "t.warc.gz"), "--tag", "national", *where)
    assert tagged.returncode == 0 and "2 records" in tagged.stdout  # the mirror's sources are national
    none = procwatch("export", "warc", "--out", str(tmp_path / "n.warc.gz"), "--tag", "火星", *where)
    assert none.returncode == 2 and "no configured source has tag '火星'" in none.stderr


# pywb (gevent underneath) patches threading when imported: it runs in a process of its own
REPLAY = """
import hashlib, sys
from pywb.apps.frontendapp import FrontEndApp
from werkzeug.test import Client
answer = Client(FrontEndApp()).get(f"/procwatch/{sys.argv[1]}id_/{sys.argv[2]}")
print(answer.status_code, hashlib.sha256(answer.data).hexdigest())
"""


def test_an_exported_wacz_validates_and_replays_in_pywb(filled: Store, tmp_path: Path) -> None:
    pytest.importorskip("wacz", reason="the wacz package is not installed (pip install -e .[dev])")
    if importlib.util.find_spec("pywb") is None:
        pytest.skip("pywb is not installed (pip install -e .[dev])")
    from storage.export import export_wacz

    out = tmp_path / "cap.wacz"
    assert export_wacz(filled.evidence, out, Selection(sources=("cap",))) == 5
    validated = subprocess.run(
        [sys.executable, "-c", WACZ, "validate", "-f", str(out)], capture_output=True, text=True, timeout=120
    )
    assert validated.returncode == 0 and "valid" in validated.stdout + validated.stderr
    with zipfile.ZipFile(out) as archive:
        pages = [json.loads(line) for line in archive.read("pages/pages.jsonl").decode().splitlines()[1:]]
    assert len({p["url"] for p in pages}) == 3  # the source's three articles, for a replay tool to list

    replay = tmp_path / "replay"
    replay.mkdir()
    for step in (["init", "procwatch"], ["add", "--unpack-wacz", "procwatch", str(out)]):
        done = subprocess.run(
            [sys.executable, "-m", "pywb.manager.manager", *step],
            cwd=replay,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    # an article of one version (the edit and its first version share a second: a replay tool picks one)
    article = next(
        a for a in filled.browse.latest_articles(10, source_ids=["cap"]) if a.version_count == 1 and a.status == "live"
    )
    (version,) = filled.history.versions(article.id)
    capture = filled.evidence.of_version(version.id)
    assert capture is not None
    served = filled.evidence.files.read(capture.ref)[3]
    stamp = capture.fetched_at.strftime("%Y%m%d%H%M%S")
    replayed = subprocess.run(
        [sys.executable, "-c", REPLAY, stamp, article.url], cwd=replay, capture_output=True, text=True, timeout=120
    )
    # (pywb prints what it looked for and did not need before the answer: the last line is ours)
    assert replayed.stdout.splitlines()[-1].split() == ["200", hashlib.sha256(served).hexdigest()], replayed.stdout
