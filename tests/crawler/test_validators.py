"""ETags and Last-Modified values that cannot be sent back as they came are not kept: one such value
used to make every later conditional request raise, so no edit of that page (or, on a list page, of
that source) was ever seen again."""

from __future__ import annotations

from sqlalchemy import text

from storage.sources import Validators
from tests.conftest import crawl

UTF8_ETAG = '"版本-1"'.encode().decode("latin-1")  # sent as raw UTF-8 bytes, as a misbehaving server does
HOSTILE = [  # one per listed article of the mirror's spp site
    {"etag": '"' + "a" * 600 + '"'},  # longer than the column: it used to be stored cut with "…"
    {"etag": UTF8_ETAG, "last_modified": "Tue, 01 Jul 2025 10:00:00 GMT" + " " * 120 + "x"},  # over 128
]


def _serve_with(mirror, index: int, **validators: str) -> None:
    page = mirror.servers["spp"].pages[mirror.article("spp", index).path]
    for name, value in validators.items():
        setattr(page, name, value)


def test_unsendable_validators_are_not_kept_and_edits_are_still_seen(mirror, store, tmp_path) -> None:
    for index, validators in enumerate(HOSTILE):
        _serve_with(mirror, index, **validators)
    first = crawl(mirror, store, tmp_path, "spp")
    assert not first.errors, first.errors
    again = crawl(mirror, store, tmp_path, "spp")  # conditional requests: none may fail
    assert not again.errors, again.errors
    for index, validators in enumerate(HOSTILE):
        url = mirror.edit("spp", index, body=mirror.article("spp", index).body + f"\n第{index}处修改。")
        _serve_with(mirror, index, **validators)
        with store.engine.connect() as connection:  # what is stored, not what the reader filters
            stored = connection.execute(
                text("SELECT etag, last_modified FROM http_validator WHERE url = :url"), {"url": url}
            ).one()
        assert all(value is None or (value.isascii() and "…" not in value) for value in stored)
    edited = crawl(mirror, store, tmp_path, "spp")
    assert not edited.errors, edited.errors
    assert edited.count("changed") == len(HOSTILE)


def test_a_cut_validator_stored_by_an_older_version_is_not_sent(mirror, store, tmp_path) -> None:
    crawl(mirror, store, tmp_path, "spp")
    url = mirror.url("spp", mirror.article("spp", 0).path)
    with store.engine.begin() as connection:  # what the column cut used to leave behind
        connection.execute(
            text("UPDATE http_validator SET etag = :etag WHERE url = :url"), {"etag": '"' + "a" * 510 + "…", "url": url}
        )
    assert store.sources.get_validators(url) == Validators(None, store.sources.get_validators(url).last_modified)
    mirror.edit("spp", 0, body=mirror.article("spp", 0).body + "\n补充。")
    report = crawl(mirror, store, tmp_path, "spp")
    assert not report.errors and report.count("changed") == 1
