"""A redirect to a scheme the fetcher does not speak (file:, ftp:, gopher:) fails that page, named,
never the crawl: it used to raise httpx.UnsupportedProtocol through the whole crawl, every run."""

from __future__ import annotations

import pytest

from crawler.demo.server import Page
from tests.conftest import crawl

TARGETS = ["file:///etc/passwd", "ftp://127.0.0.1/pub/x", "gopher://127.0.0.1:70/1"]


@pytest.mark.parametrize("target", TARGETS)
def test_a_redirect_to_an_unsupported_scheme_fails_that_page_only(mirror, sqlite_store, tmp_path, target) -> None:
    bad = mirror.article("spp", 0).path
    mirror.servers["spp"].set(bad, Page(b"", status=302, headers={"Location": target}))
    report = crawl(mirror, sqlite_store, tmp_path, "spp")
    assert report.ok and report.count("new") == 1  # the other listed article is stored
    (error,) = report.errors
    assert mirror.url("spp", bad) in error and "unsupported URL scheme" in error


def test_a_list_page_redirecting_to_file_is_a_list_error(mirror, sqlite_store, tmp_path) -> None:
    site = mirror.sites["spp"]
    mirror.servers["spp"].set(site.list_path, Page(b"", status=302, headers={"Location": "file:///etc/passwd"}))
    report = crawl(mirror, sqlite_store, tmp_path, "spp")
    assert not report.ok and len(report.list_errors) == 1
    assert "unsupported URL scheme" in report.list_errors[0]
