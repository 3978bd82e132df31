"""SSRF: a public portal cannot make procwatch fetch (and publish) an internal address, by a link, a
redirect or a DNS answer; a source that really is internal says so with ``allow_private: true``.

The tests stand in for the internet with two loopback addresses: 127.0.0.1 plays a public portal
(the fetcher's address policy is told so) and 127.0.0.2 an internal service."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from crawler.addresses import is_public
from crawler.demo.server import Page, StaticServer
from crawler.validate import load
from storage import Store
from tests.conftest import runtime_for

PORTAL, INTERNAL = "127.0.0.1", "127.0.0.2"
SECRET = "内部系统管理员口令与数据库连接串"


def internal_article() -> bytes:
    return (
        '<html><head><meta name="ArticleTitle" content="内部通知"><meta name="PubDate" content="2024-07-09 10:00">'
        f'</head><body><h1>内部通知</h1><div class="TRS_Editor"><p>{SECRET}。'
        + "内部资料。" * 80
        + "</p></div></body></html>"
    ).encode()


@pytest.fixture
def internal() -> StaticServer:
    with StaticServer({"/secret.shtml": Page(internal_article())}, host=INTERNAL) as server:
        yield server


def list_page(*hrefs: str) -> Page:
    items = "".join(f'<li><a href="{h}">通知{i}</a> <span>2024-07-09</span></li>' for i, h in enumerate(hrefs))
    return Page(f"<html><body><ul>{items}</ul></body></html>".encode())


def config_for(tmp_path: Path, list_url: str, *extra: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n"
        f"  - {{id: portal, name: 门户, adapter: trs, lists: ['{list_url}'], robots: false, "
        f"schedule: {{every: 1h}}{''.join(', ' + e for e in extra)}}}\n",
        encoding="utf-8",
    )
    return path


def crawl(config: Path, store: Store, *, public: set[str]) -> dict[str, int]:
    loaded = load(config)

    async def main() -> dict[str, int]:
        policy = {"address_policy": lambda address: address in public}
        async with runtime_for(loaded, store, **policy) as runtime:
            report = await runtime.fetch(loaded.get("portal"))
            return {**report.summary(), "list_pages": report.list_pages, "errors": len(report.errors)}

    return asyncio.run(main())


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),  # multicast
        ("240.0.0.1", False),  # reserved
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
    ],
)
def test_only_public_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(address) is public


def test_a_redirect_to_an_internal_address_is_refused_and_nothing_is_stored(
    tmp_path: Path, sqlite_store: Store, internal: StaticServer
) -> None:
    secret = internal.url("/secret.shtml")
    portal = StaticServer(
        {
            "/list/index.shtml": list_page("/a/202407/t20240709_1.shtml"),
            "/a/202407/t20240709_1.shtml": Page(b"", status=302, headers={"Location": secret}),
        }
    )
    with portal:
        counts = crawl(config_for(tmp_path, portal.url("/list/index.shtml")), sqlite_store, public={PORTAL})
    assert counts["list_pages"] == 1 and counts["new"] == 0 and counts["error"] == 1
    assert internal.requests["/secret.shtml"] == 0  # not even one request reached the internal service
    assert sqlite_store.browse.latest_articles(10) == []
    assert "address refused" in (sqlite_store.sources.source_state("portal").last_error or "")


def test_a_list_page_on_an_internal_address_is_refused_without_retries(tmp_path: Path, sqlite_store: Store) -> None:
    internal_list = StaticServer({"/list/index.shtml": list_page("/a/202407/t20240709_1.shtml")}, host=INTERNAL)
    with internal_list:
        counts = crawl(config_for(tmp_path, internal_list.url("/list/index.shtml")), sqlite_store, public={PORTAL})
    assert counts["list_pages"] == 0 and internal_list.requests["/list/index.shtml"] == 0
    state = sqlite_store.sources.source_state("portal")
    assert (
        state.consecutive_failures == 1
        and "address refused" in state.last_error
        and "allow_private" in state.last_error
    )


def test_links_to_other_hosts_are_not_followed_unless_the_source_names_them(
    tmp_path: Path, sqlite_store: Store, internal: StaticServer
) -> None:
    with StaticServer() as portal:
        portal.set("/list/index.shtml", list_page(internal.url("/secret.shtml")))
        counts = crawl(config_for(tmp_path, portal.url("/list/index.shtml")), sqlite_store, public={PORTAL, INTERNAL})
    assert counts["new"] == 0 and internal.requests["/secret.shtml"] == 0  # another site's link: not fetched


def test_allow_private_lets_an_internal_source_work(tmp_path: Path, sqlite_store: Store, internal: StaticServer) -> None:
    internal.set("/a/202407/t20240709_9.shtml", Page(internal_article()))
    internal.set("/list/index.shtml", list_page("/a/202407/t20240709_9.shtml"))
    config = config_for(tmp_path, internal.url("/list/index.shtml"), "allow_private: true")
    assert crawl(config, sqlite_store, public={PORTAL})["new"] == 1
    (article,) = sqlite_store.browse.latest_articles(10)
    assert SECRET in sqlite_store.history.versions(article.id)[0].body_text


def test_a_name_that_resolves_to_an_internal_address_is_refused(
    tmp_path: Path, sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anyio

    real = anyio.getaddrinfo

    async def rebinding(host, port, **kwargs):  # a portal's name answering with an internal address
        if host == "portal.example.gov.cn":
            return await real(INTERNAL, port, **kwargs)
        return await real(host, port, **kwargs)

    monkeypatch.setattr(anyio, "getaddrinfo", rebinding)
    with StaticServer({"/list/index.shtml": list_page("/a.shtml")}, host=INTERNAL) as server:
        port = server.base_url.rsplit(":", 1)[1]
        counts = crawl(
            config_for(tmp_path, f"http://portal.example.gov.cn:{port}/list/index.shtml"), sqlite_store, public={PORTAL}
        )
        assert counts["list_pages"] == 0 and server.requests["/list/index.shtml"] == 0


def test_a_feed_source_cannot_point_procwatch_at_another_host(
    tmp_path: Path, sqlite_store: Store, internal: StaticServer
) -> None:
    internal.set("/a/202407/t20240709_9.shtml", Page(internal_article()))
    rss = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>门户</title>'
        f"<item><title>通知</title><link>{internal.url('/a/202407/t20240709_9.shtml')}</link></item>"
        "</channel></rss>"
    ).encode()
    with StaticServer({"/feed.xml": Page(rss, content_type="application/rss+xml")}) as portal:
        config = config_for(tmp_path, portal.url("/feed.xml"))
        config.write_text(config.read_text().replace("adapter: trs", "adapter: feed"))
        counts = crawl(config, sqlite_store, public={PORTAL, INTERNAL})  # even a "public" other host
    assert counts["new"] == 0 and internal.requests["/a/202407/t20240709_9.shtml"] == 0
