"""Captures in an S3-compatible store (moto's server on 127.0.0.1, as a cluster would use MinIO or S3):
a crawl's versions and removal are kept there, read back as served, verified both ways; a second
process (another machine of a cluster) writes into the same bucket, and one verify sees them all;
the WARC export reads from the bucket."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.demo.mirror import Mirror
from crawler.demo.synthetic import bulk_site
from storage import Store
from storage.captures import ObjectCaptures
from storage.export import Selection, export_warc
from tests.storage.test_captures import crawl, warcio
from tests.support.cli import procwatch
from tests.support.receivers import free_port
from tests.support.waiting import wait_listening

boto3 = pytest.importorskip("boto3", reason="boto3 is not installed (pip install -e .[dev])")
pytest.importorskip("moto", reason="moto is not installed (pip install -e .[dev])")
BUCKET = "procwatch-captures"


@pytest.fixture
def s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's S3 server, a bucket in it, and PROCWATCH_CAPTURES pointing there; yields the location."""
    port, log = free_port(), tmp_path / "moto.log"
    with log.open("wb") as out:
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    wait_listening(server, port, log)
    environment = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "procwatch",
        "AWS_SECRET_ACCESS_KEY": "procwatch-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    location = f"s3://{BUCKET}/archive"
    monkeypatch.setenv("PROCWATCH_CAPTURES", location)
    try:
        yield location
    finally:
        server.terminate()
        server.wait(10)


def test_captures_in_a_bucket_are_kept_read_back_and_verified(s3: str, store: Store, tmp_path: Path) -> None:
    assert isinstance(store.evidence.files, ObjectCaptures)
    site = bulk_site(3, site_id="cap", per_page=3)
    with Mirror([site]) as mirror:
        config = mirror.write_config(tmp_path / "sources.yaml")
        crawl(config, store)
        edited = mirror.edit("cap", 1, body=site.articles[1].body + "\n补充：检察机关已依法提起公诉。")
        mirror.delist("cap", 0, remove_page=True)
        crawl(config, store)
        served = mirror.servers["cap"].pages[mirror.article("cap", 0).path].body  # the edited one, now first
    found = store.evidence.verify()
    assert found.ok and found.checked == 3 + 1 + 1 and found.unreferenced == 0 and found.uncaptured_versions == 0
    article = store.history.get_article(edited)
    assert article is not None
    capture = store.evidence.of_version(article.versions[-1].id)
    assert capture is not None and store.evidence.files.read(capture.ref)[3] == served
    keys = [item["Key"] for item in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys and all(key.startswith("archive/") and key.endswith(".warc.gz") for key in keys)
    out = tmp_path / "all.warc.gz"
    with out.open("wb") as handle:
        assert export_warc(store.evidence, handle, Selection()) == 5
    assert warcio("check", str(out)).returncode == 0


def test_two_processes_share_one_bucket(s3: str, tmp_path: Path) -> None:
    """As two machines of a cluster: each its own objects, one archive; verify from a third sees all."""
    db = tmp_path / "shared.sqlite3"
    sites = [bulk_site(2, site_id="a", per_page=2), bulk_site(4, site_id="b", per_page=4)]
    del sites[1].articles[:2]  # texts of its own, not copies of site a's
    with Mirror(sites) as mirror:
        config = mirror.write_config(tmp_path / "sources.yaml")
        fetches = [
            subprocess.Popen(
                [sys.executable, "-m", "crawler", "fetch", source, "--config", str(config), "--db", str(db)],
                env=os.environ.copy(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for source in ("a", "b")
        ]
        assert all(process.wait(120) == 0 for process in fetches), [p.stderr.read() for p in fetches if p.stderr]
    checked = procwatch("verify", "--db", str(db), "--json")
    assert checked.returncode == 0 and '"checked": 4' in checked.stdout and '"unreferenced": 0' in checked.stdout
    keys = [item["Key"] for item in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len({key.split("-")[2] for key in keys}) == 2  # objects of two processes (their pids in the names)
