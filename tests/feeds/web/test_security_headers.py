"""Every response, page, JSON twin, feed, error, carries the security headers (none did before)."""

from __future__ import annotations

import pytest

from feeds.headers import CONTENT_SECURITY_POLICY

PATHS = [
    "/", "/index.json", "/sources", "/sources/spp", "/articles", "/articles/1", "/articles/1.json",
    "/campaigns", "/feeds", "/all.xml", "/all.atom", "/changes.xml", "/feeds.opml", "/feed.xsl",
    "/healthz", "/articles?limit=x", "/no-such-page",
]


@pytest.mark.parametrize("path", PATHS)
def test_every_response_carries_the_security_headers(web, path: str) -> None:
    response = web.get(path)
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src" not in CONTENT_SECURITY_POLICY and "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
