"""Feeds: valid for feedparser, stable GUIDs, Beijing time, hostile content removed, 304s, filters."""

from __future__ import annotations

import asyncio

import feedparser
import pytest
from starlette.testclient import TestClient

from crawler.cli.fetch import crawl_once
from crawler.config import Config, load_config
from crawler.demo.server import Page
from feeds.build import build_feeds
from feeds.catalog import FeedSpec, catalog
from feeds.items import FeedItem, FeedQuery, items_for
from feeds.render import render_feed
from feeds.server import create_app
from storage import Store
from tests.conftest import feed_catalog

BASE = "http://feeds.example"
HOSTILE = (
    '<p onclick="steal()">检察机关开展“清风护企”专项行动,<a href="javascript:alert(1)">点此</a>'
    "<script>alert('x')</script><iframe src=\"https://evil.example\"></iframe><style>p{}</style>"
    '<img src="data:image/png;base64,AAAA" onerror="x()">\x01\x08控制字符\x0b结束。</p>'
)


@pytest.fixture
def world(mirror, sqlite_store, tmp_path) -> tuple[Config, Store]:
    config = load_config(mirror.write_config(tmp_path / "sources.yaml"))
    for source in config.sources:
        asyncio.run(crawl_once(config, source, sqlite_store, backfill=3))
    return config, sqlite_store


def refetch(config: Config, store: Store, source_id: str) -> None:
    asyncio.run(crawl_once(config, config.get(source_id), store))


def _spec_items(config: Config, store: Store, path: str, **query: object) -> tuple[FeedSpec, list[FeedItem]]:
    spec = next(s for s in catalog(feed_catalog(config)) if s.path == path)
    return spec, items_for(store, feed_catalog(config), spec, FeedQuery(**query))


def parsed(config: Config, store: Store, path: str, fmt: str = "rss", **query: object) -> feedparser.FeedParserDict:
    data = render_feed(*_spec_items(config, store, path, **query), fmt, BASE)
    return feedparser.parse(data, sanitize_html=False)  # we check what we send, not what feedparser keeps


def test_every_feed_in_both_formats_parses_cleanly(world, tmp_path) -> None:
    config, store = world
    written = build_feeds(store, feed_catalog(config), tmp_path / "out", base_url=BASE)
    feeds = [p for p in written if p.suffix in (".xml", ".atom")]
    assert len(feeds) == 2 * len(catalog(feed_catalog(config))) and (tmp_path / "out" / "sources" / "spp.xml").exists()
    assert (tmp_path / "out" / "tags" / "四川.atom").exists()
    for path in feeds:
        result = feedparser.parse(path.read_bytes())
        assert not result.bozo, (path, result.get("bozo_exception"))
    everything = feedparser.parse((tmp_path / "out" / "all.xml").read_bytes())
    assert len(everything.entries) == 5  # five articles; the Traditional repost is not a sixth
    opml = (tmp_path / "out" / "feeds.opml").read_text("utf-8")
    assert opml.count("<outline") == len(catalog(feed_catalog(config))) and f"{BASE}/sources/spp.xml" in opml


def test_dates_are_beijing_time_never_naive(world) -> None:
    config, store = world
    feed = parsed(config, store, "sources/spp")
    entry = next(e for e in feed.entries if "党组会" in e.title)
    assert entry.published == "Tue, 09 Jul 2024 18:30:00 +0800"
    assert entry.published_parsed[:5] == (2024, 7, 9, 10, 30)  # 10:30 UTC
    atom = parsed(config, store, "sources/spp", "atom")
    assert all(e.published.endswith("+08:00") for e in atom.entries)


def test_guids_are_stable_and_an_edit_is_one_new_item(world, mirror) -> None:
    config, store = world
    before = {e.id: e.title for e in parsed(config, store, "all").entries}
    assert before == {e.id: e.title for e in parsed(config, store, "all").entries}  # rebuild: same GUIDs
    url = mirror.edit("spp", 1, body=mirror.article("spp", 1).body + "\n发布会还通报了典型案例。")
    refetch(config, store, "spp")
    after = {e.id: e.title for e in parsed(config, store, "all").entries}
    assert set(before) <= set(after)  # the publication keeps its GUID
    assert set(after) - set(before) == {f"{url}#procwatch-v2-feed-all"}  # each feed scopes its GUIDs
    assert after[f"{url}#procwatch-v2-feed-all"].startswith("【修改】")
    change = parsed(config, store, "changes").entries
    assert [e.id for e in change] == [f"{url}#procwatch-v2-feed-changes"]
    assert "<ins>" in change[0].description and "典型案例" in change[0].description
    refetch(config, store, "spp")  # nothing new: no further item
    assert {e.id for e in parsed(config, store, "all").entries} == set(after)


def test_campaigns_are_marked_and_new_ones_flagged(world) -> None:
    config, store = world
    entry = next(e for e in parsed(config, store, "sources/spp").entries if "一号检察建议" in e.title)
    # highlighted in the text (bold too: sanitising readers drop <mark>), listed in 【】 that every reader shows
    assert "<mark><strong>一号检察建议</strong></mark>" in entry.description
    # the world is a backfill: its names were known at start, marked in 【】 but not announced as 新
    assert "<mark>【一号检察建议】</mark>" in entry.description and "<strong>新</strong>" not in entry.description
    text_only = feedparser.parse(render_feed(*_spec_items(config, store, "sources/spp"), "rss", BASE)).entries
    kept = next(e for e in text_only if "一号检察建议" in e.title).description  # feedparser's own sanitiser
    assert "【一号检察建议】" in kept and "<strong>一号检察建议</strong>" in kept
    assert "一号检察建议" in [t.term for t in entry.tags]
    assert not [e for e in parsed(config, store, "campaigns").entries if "检察护企" in e.title]


def test_hostile_page_content_never_reaches_a_feed(world, mirror, tmp_path) -> None:
    config, store = world
    # inserted after the first paragraph: this article's text ends in 免责声明/上一篇 junk, the end of the article
    first, rest = mirror.article("zfw", 0).body.split("\n", 1)
    mirror.edit("zfw", 0, body=f"{first}\n占位\n{rest}")
    site = mirror.sites["zfw"]
    from crawler.demo.mirror import render_article

    page = render_article(site, site.articles[0], 0).replace("<p>占位</p>", HOSTILE)
    mirror.servers["zfw"].set(site.articles[0].path, Page(page.encode("utf-8")))
    refetch(config, store, "zfw")
    out = tmp_path / "hostile"
    build_feeds(store, feed_catalog(config), out, base_url=BASE, query=FeedQuery(fulltext=True))
    for path in [*out.rglob("*.xml"), *out.rglob("*.atom")]:
        data = path.read_bytes()
        assert not feedparser.parse(data).bozo, path
        for bad in (
            b"<script",
            b"&lt;script",
            b"onclick",
            b"onerror",
            b"javascript:",
            b"data:image",
            b"<iframe",
            b"&lt;iframe",
            b"\x01",
            b"\x08",
            b"\x0b",
            b"evil.example",
        ):
            assert bad not in data, (path, bad)
    assert "清风护企" in (out / "all.xml").read_text("utf-8")


@pytest.fixture
def client(world) -> TestClient:
    config, store = world
    return TestClient(create_app(store, lambda: feed_catalog(config), base_url=BASE))


def test_server_validators_and_304(client) -> None:
    first = client.get("/all.xml")
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/rss+xml")
    assert first.headers["cache-control"] == "public, max-age=300" and first.headers["last-modified"]
    again = client.get("/all.xml", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    since = client.get("/all.xml", headers={"If-Modified-Since": first.headers["last-modified"]})
    assert since.status_code == 304
    assert client.get("/all.atom").headers["content-type"].startswith("application/atom+xml")


def test_server_filters(client, world) -> None:
    def titles(url: str) -> list[str]:
        return [e.title for e in feedparser.parse(client.get(url).content).entries]

    # q searches titles and bodies of every version (storage.search): one article names it in its
    # title, another only in its body
    _, store = world
    found = {hit.article.title for hit in store.search.search("护企").hits}
    assert "最高检通报“检察护企”专项行动开展情况" in found and len(found) == 2
    assert set(titles("/all.xml?q=护企")) == found
    assert len(titles("/all.xml?source=spp")) == 3
    assert titles("/all.xml?tag=四川") == ["全省高级检察官研讨班开班"]
    assert len(titles("/all.xml?campaign=检察护企")) == 2
    assert len(titles("/all.xml?limit=2")) == 2
    assert titles("/sources/spp.xml?tag=四川") == []  # filters narrow, never widen


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("source=nosuch", "source: no configured source 'nosuch' (see /sources)"),
        ("tag=火星", "tag: no source has the tag '火星' (see /feeds)"),
        ("campaign=从未出现", "campaign: no campaign or formulation '从未出现' has been seen (see /campaigns)"),
        ("limit=abc", "limit: expected a whole number from 1 to 500, got 'abc'"),
        ("limit=0", "limit: expected a whole number from 1 to 500, got '0'"),
        ("limit=100000", "limit: expected a whole number from 1 to 500, got '100000'"),
    ],
)
def test_a_filter_naming_nothing_known_is_a_400_with_one_line_not_an_empty_feed(client, query, reason) -> None:
    answer = client.get(f"/all.xml?{query}")
    assert answer.status_code == 400 and answer.text == reason + "\n"
    assert client.get(f"/articles?{query}").status_code == 400  # the pages check filters the same way


def test_server_refuses_hostile_filters_and_queries_with_nothing_to_search(client, world) -> None:
    for nothing in ("%25", "_", "-护企"):  # no word to look for: one line, not an empty (or full) feed
        answer = client.get(f"/all.xml?q={nothing}")
        assert answer.status_code == 400 and answer.text.startswith("q: ") and "nothing to search" in answer.text
    for bad in ("q=%00", "source=a%00b", "q=" + "检" * 201, "campaign=" + "x" * 5000):
        answer = client.get(f"/all.xml?{bad}")
        assert answer.status_code == 400 and "no NUL" in answer.text, bad


def test_feed_links_never_follow_the_host_header(world) -> None:
    config, store = world
    unconfigured = TestClient(create_app(store, lambda: feed_catalog(config)))  # no --base-url: the bound address
    body = unconfigured.get("/all.xml", headers={"Host": "evil.example"}).text
    assert "evil.example" not in body and "evil.example" not in unconfigured.get("/feeds.opml").text


def test_a_burst_of_requests_shares_one_feed_build(world, monkeypatch) -> None:
    import asyncio

    import httpx

    import feeds.server

    config, store = world
    builds = []
    real = feeds.server.items_for
    monkeypatch.setattr(feeds.server, "items_for", lambda *args: builds.append(1) or real(*args))
    app = create_app(store, lambda: feed_catalog(config), base_url=BASE)

    async def burst() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            answers = await asyncio.gather(*(client.get("/all.xml") for _ in range(20)))
        return [answer.status_code for answer in answers]

    assert asyncio.run(burst()) == [200] * 20
    assert len(builds) == 1  # twenty readers at once, one query and one rendering


def test_server_index_opml_health_and_no_traversal(client) -> None:
    index = client.get("/").text  # the overview page links its feeds for discovery (relative: no Host header)
    assert '<link rel="alternate" type="application/rss+xml" title="全部来源" href="/all.xml">' in index
    listing = client.get("/feeds").text  # every feed, for readers that discover from one page
    assert listing.count('<link rel="alternate" type="application/rss+xml"') == len(
        client.get("/feeds.json").json()["feeds"]
    )
    assert client.get("/feeds.opml").text.count("<outline") >= 3
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["sources"]["spp"]["consecutive_failures"] == 0
    for path in ("/../../etc/passwd.xml", "/sources/../../x.xml", "/nope.xml", "/all.html", "/etc/passwd"):
        assert client.get(path).status_code == 404, path


def test_servers_bind_to_loopback_unless_told_otherwise() -> None:
    from typer.main import get_command

    from crawler.cli import app

    commands = get_command(app).commands  # type: ignore[attr-defined]
    for name in ("serve", "run"):
        host = next(param for param in commands[name].params if param.name == "host")
        assert host.default == "127.0.0.1", name


def test_edit_markers_read_in_plain_text_too() -> None:
    import re

    from feeds.diff import diff_html

    marked = diff_html("发布一批第二批涉企典型案例", "发布一批第三批涉企典型案例", markers=True)
    assert "<del>[-二-]</del><ins>{+三+}</ins>" in marked  # struck through in a browser
    assert re.sub("<[^>]+>", "", marked) == "发布一批第[-二-]{+三+}批涉企典型案例"  # and legible without tags
