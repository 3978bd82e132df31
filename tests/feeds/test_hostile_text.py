"""What a hostile portal can put in a title or a body never acts in a reader, a browser or a JSON
consumer: titles are inert plain text in both formats, and body HTML is sanitised when it is stored,
whatever the adapter produced."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from crawler.extract import extract_article
from feeds.catalog import FeedSpec, SourceCatalog
from feeds.items import FeedQuery, items_for
from feeds.render import render_feed
from storage import Store

ATOM = "{http://www.w3.org/2005/Atom}"
PAGE = (
    '<html><head><meta name="ArticleTitle" content="最高检通报"><meta name="PubDate" content="2024-07-09 10:00">'
    '</head><body><h1>最高检通报</h1><div class="TRS_Editor"><p>'
    + "最高人民检察院召开新闻发布会,通报检察机关依法惩治犯罪情况。" * 10
    + "</p></div></body></html>"
)
HOSTILE_BODIES = {
    "javascript href": '<a href="javascript:alert(1)">x</a>',
    "entity-encoded javascript": '<a href="jav&#x61;script&#58;alert(1)">x</a><a href="&#106;avascript:alert(1)">y</a>',
    "spaced javascript": '<a href=" \tjava\nscript:alert(1)">x</a>',
    "svg onload": '<svg onload="alert(1)"><circle r="1"/></svg>',
    "img onerror": '<img src="x" onerror="alert(1)">',
    "mXSS": "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    "base href": '<base href="javascript:alert(1)//"><a href="/x">x</a>',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "iframe srcdoc": '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "data url": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "style tag": "<style>body{background:url(javascript:alert(1))}</style>",
}
ACTIVE = re.compile(r"javascript|onerror|onload|<script|<svg|<math|<style|<base|<iframe|<meta|srcdoc|data:", re.I)


def store_page(store: Store, *, title: str, body_html: str, url: str) -> None:
    article = extract_article(PAGE, url).with_changes(title=title, body_html=body_html)  # as a careless adapter might
    store.writer.record("hostile", article)


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_body_html_is_sanitised_when_stored(sqlite_store: Store, name: str) -> None:
    url = f"http://portal.example.gov.cn/a/202407/t20240709_{sorted(HOSTILE_BODIES).index(name)}.shtml"
    store_page(sqlite_store, title="通报", body_html=f"<p>正文</p>{HOSTILE_BODIES[name]}", url=url)
    stored = sqlite_store.history.get_article(url).versions[0].body_html
    assert "正文" in stored and not ACTIVE.search(stored), stored


TITLES = {
    "script": ("<script>alert(1)</script>通报", "‹script›alert(1)‹/script›通报"),
    "iframe srcdoc": ('<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;">', "‹iframe srcdoc="),
    "cdata end": ("通报]]><x>", "通报]]›‹x›"),
    "cdata section": ("<![CDATA[<b>通报</b>]]>", "‹![CDATA[‹b›通报‹/b›]]›"),
    "bidi override": ("通报\u202egnp.exe", "通报[U+202E]gnp.exe"),
    "zero width": ("检察\u200b护企", "检察[U+200B]护企"),
    "lone surrogate": ("通\ud800报", "通报"),
}


@pytest.mark.parametrize("name", sorted(TITLES))
@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_titles_are_inert_plain_text_in_both_formats(sqlite_store: Store, name: str, fmt: str) -> None:
    title, shown = TITLES[name]
    store_page(
        sqlite_store, title=title, body_html="<p>正文</p>", url="http://portal.example.gov.cn/a/t20240709_1.shtml"
    )
    document = feed(sqlite_store, fmt)
    root = ET.fromstring(document)
    titles = (
        [e.findtext("title") for e in root.iter("item")]
        if fmt == "rss"
        else [e.findtext(f"{ATOM}title") for e in root.iter(f"{ATOM}entry")]
    )
    assert any(shown in (t or "") for t in titles), titles
    assert not any("<" in (t or "") or "\u202e" in (t or "") for t in titles)  # nothing a reader would render
    if fmt == "atom":
        assert all(e.get("type") == "text" for e in root.iter(f"{ATOM}title"))


def test_a_one_megabyte_title_is_bounded(sqlite_store: Store) -> None:
    store_page(
        sqlite_store,
        title="通" * 1_000_000,
        body_html="<p>正文</p>",
        url="http://portal.example.gov.cn/a/t20240709_2.shtml",
    )
    root = ET.fromstring(feed(sqlite_store, "rss"))
    assert all(len(e.findtext("title") or "") <= 520 for e in root.iter("item"))


def feed(store: Store, fmt: str) -> bytes:
    spec = FeedSpec("all", "procwatch: 全部", "articles")
    catalog = SourceCatalog(sources=[])
    return render_feed(spec, items_for(store, catalog, spec, FeedQuery()), fmt, "http://feeds.example")
