"""The web view through HTTP: every page and its JSON twin, filters, pagination, diffs, timelines."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from crawler.cli.fetch import crawl_once
from crawler.config import load_config
from crawler.demo.server import Page
from feeds.server import create_app
from tests.conftest import feed_catalog
from tests.feeds.web.conftest import NEW, OLD

PAGES = ["/", "/sources", "/sources/spp", "/articles", "/campaigns", "/campaigns/检察护企", "/feeds"]


def article_id(web, url: str) -> int:
    return next(a["id"] for a in web.get("/articles.json?limit=500").json()["articles"] if a["url"] == url)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_links_its_feed_and_has_a_json_twin(web, path) -> None:
    page = web.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<link rel="alternate" type="application/rss+xml"' in page.text
    twin = "/index.json" if path == "/" else f"{path}.json"
    as_json = web.get(twin)
    assert as_json.status_code == 200 and as_json.headers["content-type"] == "application/json"
    negotiated = web.get(path, headers={"Accept": "application/json"}).json()
    assert {k: v for k, v in negotiated.items() if k != "now"} == {
        k: v for k, v in as_json.json().items() if k != "now"
    }
    assert f'href="{twin}"' in page.text  # the page links its twin


def test_overview_shows_todays_articles_recent_changes_new_campaigns_and_failures(web, archive) -> None:
    overview = web.get("/index.json").json()
    kinds = {(c["kind"], c["article"]["url"]) for c in overview["changes"]}
    assert ("edited", archive.edited_url) in kinds and ("removed", archive.removed_url) in kinds
    newest = [c["name"] for c in web.get("/campaigns.json").json()["campaigns"] if not c["known"]][:10]
    assert [c["name"] for c in overview["new_campaigns"]] == newest
    assert overview["failing"] == [] and overview["sources"] == 3
    # the mirror's articles were published years ago but found today: today's finds count them all
    stored = sum(s["articles"] for s in web.get("/sources.json").json()["sources"])
    assert stored > 0 and overview["found_today"] == stored
    assert overview["today"] == []  # none was published today


def test_sources_page_has_state_counts_and_a_sparkline(web) -> None:
    rows = {s["id"]: s for s in web.get("/sources.json").json()["sources"]}
    assert set(rows) == {"spp", "scjcy", "zfw"}
    assert rows["spp"]["articles"] == 3 and rows["spp"]["status"] == "ok" and rows["spp"]["last_success"]
    assert len(rows["spp"]["per_day"]) == 30
    html = web.get("/sources").text
    assert html.count('<svg class="spark"') == 3 and "最高人民检察院" in html
    source = web.get("/sources/spp.json").json()
    assert len(source["articles"]) == 3 and source["source"]["feed"] == "/sources/spp.xml"
    assert web.get("/sources/nosuch").status_code == 404


def test_article_search_filters_and_keyset_pages(web) -> None:
    def urls(query: str) -> list[str]:
        return [a["url"] for a in web.get(f"/articles.json?{query}").json()["articles"]]

    everything = urls("")
    assert len(everything) == 5
    assert len(urls("source=spp")) == 3 and len(urls("tag=四川")) == 1  # its other article is a repost of spp's
    assert len(urls("campaign=检察护企")) == 2 and urls("q=护企") == urls("q=检察护企")
    assert urls("since=2030-01-01") == [] and len(urls("since=2000-01-01")) == 5
    pages, query = [], "limit=2"
    while query is not None:
        answer = web.get(f"/articles.json?{query}").json()
        pages.append([a["url"] for a in answer["articles"]])
        query = answer["next"].split("?", 1)[1] if answer["next"] else None
    assert [len(p) for p in pages] == [2, 2, 1] and [url for p in pages for url in p] == everything
    assert web.get("/articles?since=yesterday").status_code == 400


def test_article_page_shows_versions_and_the_diff_inline_and_side_by_side(web, archive) -> None:
    number = article_id(web, archive.edited_url)
    data = web.get(f"/articles/{number}.json").json()
    assert [v["version"] for v in data["versions"]] == [1, 2]
    assert [e["kind"] for e in data["events"]] == ["published", "edited"]
    assert data["diff"] == {"from": 1, "to": 2, "view": "inline", "changed": True}
    assert NEW in data["current"]["text"]
    inline = web.get(f"/articles/{number}").text
    assert "<ins>(第二阶段)</ins>" in inline and "diff-inline" in inline
    assert "<mark>检察护企</mark>" in inline  # campaign mentions highlighted in the current text
    side = web.get(f"/articles/{number}?from=1&to=2&view=side").text
    assert 'class="text diff-old"' in side and 'class="text diff-new"' in side
    backwards = web.get(f"/articles/{number}.json?from=2&to=1").json()["diff"]
    assert backwards["from"] == 2 and backwards["to"] == 1
    assert OLD in web.get(f"/articles/{number}").text
    assert web.get("/articles/999999").status_code == 404


def test_article_page_shows_removal_and_republication(web, archive) -> None:
    removed = web.get(f"/articles/{article_id(web, archive.removed_url)}.json").json()
    assert removed["article"]["status"] == "removed" and removed["events"][-1]["kind"] == "removed"
    reposted = [a for a in web.get("/articles.json").json()["articles"] if a["source"] == "spp"]
    pages = [web.get(f"{a['page']}.json").json() for a in reposted]
    republished = [p for p in pages if p["republications"]]
    assert republished and republished[0]["republications"][0]["source"] == "scjcy"


def test_campaign_pages_list_newest_first_and_show_the_spread(web) -> None:
    campaigns = web.get("/campaigns.json").json()["campaigns"]
    firsts = [c["first_seen"] for c in campaigns]
    assert firsts == sorted(firsts, reverse=True) and len(campaigns) > 10
    page = web.get("/campaigns/检察护企.json").json()
    assert page["campaign"]["first_source"] == "spp" and page["campaign"]["articles"] == 2
    assert page["spread"][0]["source"] == "spp" and page["spread"][0]["days_after"] == 0
    assert sum(w["articles"] for w in page["weeks"]) == 2
    html = web.get("/campaigns/" + quote("检察护企")).text
    assert html.count('<svg class="chart"') == 2 and "/all.xml?campaign=" in html
    assert web.get("/campaigns/从未出现").status_code == 404
    limited = web.get("/campaigns.json?limit=5").json()
    assert len(limited["campaigns"]) == 5 and limited["next"]


def test_hostile_titles_are_text_on_pages(web, archive) -> None:
    from storage.models import Article

    with Session(archive.store.engine) as session, session.begin():  # the test edits the archive behind the crawler
        article = session.get(Article, 1)
        article.title = '<script>alert(1)</script><img src=x onerror="x()">'
        session.add(article)
    html = web.get("/articles").text + web.get("/articles/1").text
    assert "<script>alert" not in html and "<img src=x" not in html and "&lt;script&gt;" in html


def test_a_crawl_with_a_failed_page_shows_degraded_not_ok(mirror, sqlite_store, tmp_path) -> None:
    # the source's crawl ran (no consecutive failures) but one article page failed: health says so
    config = load_config(mirror.write_config(tmp_path / "sources.yaml"))
    broken = mirror.article("spp", 1).path
    mirror.servers["spp"].set(broken, Page(b"%PDF-1.4 not a page", headers={"Content-Type": "text/html"}))
    asyncio.run(crawl_once(config, config.get("spp"), sqlite_store))
    web = TestClient(create_app(sqlite_store, lambda: feed_catalog(config)))
    health = web.get("/healthz").json()
    assert health["status"] == "degraded" and health["failing_sources"] == 0
    assert health["sources"]["spp"]["status"] == "degraded" and broken in health["sources"]["spp"]["last_error"]
    rows = {s["id"]: s for s in web.get("/sources.json").json()["sources"]}
    assert rows["spp"]["status"] == "degraded" and rows["spp"]["consecutive_failures"] == 0
    assert 'class="degraded"' in web.get("/sources").text


def test_search_shows_where_each_article_has_the_words_and_in_which_versions(web, archive) -> None:
    added = NEW.removeprefix(OLD)  # what the edit added: only the newer version has it
    rows = web.get(f"/articles.json?q={quote(added)}").json()["articles"]
    (row,) = [a for a in rows if a["url"] == archive.edited_url]
    assert row["found_versions"] == [2] and row["found_in"] is None  # the current version has it
    assert row["snippet"][1] == added
    assert f"<mark>{added}</mark>" in web.get(f"/articles?q={quote(added)}").text
    assert web.get("/articles?q=-护企").status_code == 400  # nothing to look for: one line
