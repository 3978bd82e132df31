"""Proxies per source and in settings, through a real proxy (pproxy: HTTP and SOCKS5 on 127.0.0.1, with
a password): every request of a proxied source goes through it (with the proxy down, none reaches the
portal), the browser's too; the password comes from the environment and is never shown; a proxied
target is still vetted by the address policy; ``procwatch check`` probes through the proxy.

Addresses stand in for the internet as in test_addresses.py: 127.0.0.1 plays a public portal,
127.0.0.2 an internal service.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crawler.demo.server import Page, StaticServer
from crawler.validate import load
from storage import Store
from tests.conftest import runtime_for
from tests.support.cli import procwatch
from tests.support.receivers import free_port
from tests.support.waiting import wait_listening

pytest.importorskip("pproxy", reason="pproxy is not installed (pip install -e .[dev])")
PORTAL, INTERNAL = "127.0.0.1", "127.0.0.2"
USER, PASSWORD = "procwatch", "s3cret-pw-4711"
SECRET_VARIABLE = "PROCWATCH_TEST_PROXY_PASSWORD"
ARTICLES = 3


@dataclass
class Proxy:
    port: int
    log: Path
    process: subprocess.Popen[bytes]

    def url(self, scheme: str = "http", password: str = f"${{{SECRET_VARIABLE}}}") -> str:
        return f"{scheme}://{USER}:{password}@127.0.0.1:{self.port}"

    def connections_to(self, port: int) -> int:
        """Connections the proxy made to 127.0.0.1:``port`` (pproxy -v logs one line each)."""
        return sum(f"-> 127.0.0.1:{port}" in line for line in self.log.read_text().splitlines())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture
def proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proxy]:
    monkeypatch.setenv(SECRET_VARIABLE, PASSWORD)
    port, log = free_port(), tmp_path / "pproxy.log"
    listen = f"http+socks5://127.0.0.1:{port}#{USER}:{PASSWORD}"
    with log.open("wb") as out:  # --auth 0: ask for the password on every connection, not once per address
        command = [sys.executable, "-m", "pproxy", "-l", listen, "-v", "--auth", "0"]
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
    wait_listening(process, port, log)
    proxy = Proxy(port, log, process)
    yield proxy
    if process.poll() is None:
        proxy.stop()


def portal_pages(redirect_to: str | None = None) -> dict[str, Page]:
    """A list and its articles; with ``redirect_to``, one more article that redirects there."""
    hrefs = [f"/202407/t202407{i + 1:02d}_{i}.shtml" for i in range(ARTICLES + bool(redirect_to))]
    items = "".join(f'<li><a href="{h}">通报{i}</a> <span>2024-07-0{i + 1}</span></li>' for i, h in enumerate(hrefs))
    pages = {"/list/": Page(f"<html><body><ul>{items}</ul></body></html>".encode())}
    if redirect_to:
        pages[hrefs[ARTICLES]] = Page(b"", status=302, headers={"Location": redirect_to})
    for i in range(ARTICLES):
        pages[hrefs[i]] = Page(
            f'<html><head><meta name="ArticleTitle" content="通报{i}"><meta name="PubDate" content="2024-07-0{i + 1} 10:00">'
            f'</head><body><div class="TRS_Editor"><p>第{i}篇。{"检察机关依法办案。" * 30}</p></div></body></html>'.encode()
        )
    pages["/robots.txt"] = Page(b"User-agent: *\nDisallow: /admin/\n", content_type="text/plain")
    return pages


def write_config(tmp_path: Path, sources: list[tuple[str, str, str]], settings: str = "") -> Path:
    """``sources``: (id, list URL, extra keys)."""
    path = tmp_path / "sources.yaml"
    lines = [f"settings: {{min_delay: 0s, retries: 0, timeout: 5s{settings}}}", "sources:"]
    lines += [
        f"  - {{id: {i}, name: {i}, adapter: trs, lists: ['{url}'], schedule: {{every: 1h}}{extra}}}"
        for i, url, extra in sources
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def crawl(config_path: Path, store: Store, *source_ids: str) -> dict[str, dict[str, object]]:
    config = load(config_path)

    async def main() -> dict[str, dict[str, object]]:
        async with runtime_for(config, store, address_policy=lambda a: a == PORTAL) as runtime:
            out = {}
            for source_id in source_ids:
                report = await runtime.fetch(config.get(source_id))
                out[source_id] = {**report.summary(), "errors": [str(e) for e in report.errors]}
            out["_requests"] = {"sent": runtime.fetcher.requests_sent}
            return out

    return asyncio.run(main())


@pytest.mark.parametrize("scheme", ["http", "socks5"])
def test_every_request_of_a_proxied_source_goes_through_the_proxy(
    scheme: str, proxy: Proxy, tmp_path: Path, sqlite_store: Store
) -> None:
    with StaticServer(portal_pages()) as server:
        port = server._httpd.server_address[1]
        config = write_config(tmp_path, [("portal", server.url("/list/"), f", proxy: '{proxy.url(scheme)}'")])
        result = crawl(config, sqlite_store, "portal")
        assert result["portal"]["new"] == ARTICLES and not result["portal"]["errors"]
        # robots.txt, the list and the articles, each answered once, and the proxy connected for them
        assert sum(server.requests.values()) == result["_requests"]["sent"] == ARTICLES + 2
        assert proxy.connections_to(port) >= 1

        proxy.stop()  # with the proxy gone, nothing of the source's reaches the portal: no direct path
        before = sum(server.requests.values())
        down = crawl(config, sqlite_store, "portal")
        assert sum(server.requests.values()) == before
    (error,) = down["portal"]["errors"]
    assert "\n" not in error and f"through the proxy {scheme}://{USER}:***@127.0.0.1:{proxy.port}" in error
    assert PASSWORD not in json.dumps(down)


def test_the_settings_proxy_serves_every_source_and_direct_opts_out(
    proxy: Proxy, tmp_path: Path, sqlite_store: Store
) -> None:
    with StaticServer(portal_pages()) as server:
        config = write_config(
            tmp_path,
            [("proxied", server.url("/list/"), ""), ("direct", server.url("/list/"), ", proxy: direct")],
            settings=f", proxy: '{proxy.url()}'",
        )
        proxy.stop()
        result = crawl(config, sqlite_store, "proxied", "direct")
    assert result["direct"]["new"] == ARTICLES
    assert result["proxied"]["errors"] and "through the proxy" in result["proxied"]["errors"][0]


def test_a_wrong_password_is_refused_by_the_proxy_and_never_shown(
    proxy: Proxy, tmp_path: Path, sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_VARIABLE, "wrong-" + PASSWORD)
    with StaticServer(portal_pages()) as server:
        config = write_config(tmp_path, [("portal", server.url("/list/"), f", proxy: '{proxy.url('socks5')}'")])
        result = crawl(config, sqlite_store, "portal")
        assert sum(server.requests.values()) == 0
    (error,) = result["portal"]["errors"]
    assert "proxy" in error and PASSWORD not in error and "***" in error


def test_an_unset_password_variable_is_a_one_line_error(
    tmp_path: Path, sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    with StaticServer(portal_pages()) as server:
        config = write_config(
            tmp_path, [("portal", server.url("/list/"), f", proxy: 'http://u:${{{SECRET_VARIABLE}}}@127.0.0.1:9'")]
        )
        result = crawl(config, sqlite_store, "portal")
        assert sum(server.requests.values()) == 0
    (error,) = result["portal"]["errors"]
    assert f"${{{SECRET_VARIABLE}}} is not set in the environment" in error and "\n" not in error


def test_a_target_behind_the_proxy_is_still_vetted(proxy: Proxy, tmp_path: Path, sqlite_store: Store) -> None:
    with StaticServer({"/secret.shtml": Page(b"<html><body>secret</body></html>")}, host=INTERNAL) as internal:
        with StaticServer(portal_pages(redirect_to=internal.url("/secret.shtml"))) as server:
            config = write_config(tmp_path, [("portal", server.url("/list/"), f", proxy: '{proxy.url()}'")])
            result = crawl(config, sqlite_store, "portal")
        assert sum(internal.requests.values()) == 0  # the proxy would have connected: it was never asked
        assert proxy.connections_to(internal._httpd.server_address[1]) == 0
    assert result["portal"]["new"] == ARTICLES
    assert any("address refused" in e and INTERNAL in e for e in result["portal"]["errors"])


def test_check_probes_through_the_proxy(proxy: Proxy, tmp_path: Path) -> None:
    with StaticServer(portal_pages()) as server:
        extra = f", proxy: '{proxy.url()}', allow_private: true"
        config = write_config(tmp_path, [("portal", server.url("/list/"), extra)])
        ok = procwatch("check", "--config", str(config), "--json")
        assert ok.returncode == 0, ok.stderr
        assert json.loads(ok.stdout)[0]["verdict"] == "ok"
        assert proxy.connections_to(server._httpd.server_address[1]) >= 1
        proxy.stop()
        down = procwatch("check", "--config", str(config), "--json")
    (verdict,) = json.loads(down.stdout)
    assert down.returncode == 1 and verdict["verdict"] == "unreachable"
    assert "through the proxy http://procwatch:***@" in verdict["detail"] and PASSWORD not in down.stdout + down.stderr


@pytest.mark.parametrize(
    ("proxy_value", "expected"),
    [
        ("ftp://127.0.0.1:21", "expected a proxy URL"),
        ("http://user:literal-password@127.0.0.1:8080", "write the proxy password as ${VARIABLE}"),
        ("http://127.0.0.1:port", "port is not a number"),
    ],
)
def test_a_proxy_sources_yaml_cannot_use_is_refused_with_its_line(
    tmp_path: Path, proxy_value: str, expected: str
) -> None:
    config = write_config(tmp_path, [("portal", "http://127.0.0.1:9/list/", f", proxy: '{proxy_value}'")])
    result = procwatch("check", "--config", str(config))
    assert result.returncode == 2
    assert "sources.yaml:3: sources[0].proxy:" in result.stderr and expected in result.stderr
    assert "literal-password" not in result.stderr


def test_the_browsers_requests_go_through_the_source_proxy_too(
    proxy: Proxy, tmp_path: Path, sqlite_store: Store
) -> None:
    from crawler.browser import chromium_path
    from crawler.config import BrowserSettings
    from crawler.demo.challenge import LIBRARY, Challenge

    pytest.importorskip("playwright.async_api", reason="Playwright is not installed (pip install -e .[dev])")
    if chromium_path(BrowserSettings()) is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium, or set PROCWATCH_CHROMIUM)")
    gate = Challenge()
    with StaticServer(portal_pages()) as server:
        server.gate = gate
        port = server._httpd.server_address[1]
        extra = f", proxy: '{proxy.url('socks5')}', fetch: auto, robots: false"
        config = write_config(tmp_path, [("portal", server.url("/list/"), extra)])
        result = crawl(config, sqlite_store, "portal")
        assert result["portal"]["new"] == ARTICLES and gate.passed == 1 and server.requests[LIBRARY] == 1
        # a tunnel for the plain client (the list's challenge, then the articles) and one for the
        # browser's requests (the challenge's script and the reload let through)
        assert proxy.connections_to(port) >= 2
        assert sum(server.requests.values()) == result["_requests"]["sent"]
