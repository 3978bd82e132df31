"""Parsing is bounded by the size of the page: nesting beyond Chromium's cap is flattened before lexbor
builds the tree (whose cost grows with depth), and real pages are parsed exactly as sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.decode import decode_html
from crawler.html_tree import MAX_DEPTH, bounded_nesting, parse_html

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"


def depth(tree: LexborHTMLParser) -> int:
    deepest, stack = 0, [(tree.root, 1)] if tree.root else []
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        child: LexborNode | None = node.child
        while child is not None:
            if child.tag != "-text":
                stack.append((child, level + 1))
            child = child.next
    return deepest


def test_nesting_beyond_the_cap_becomes_siblings_with_their_text() -> None:
    link = '<a href="/202211/t20221130_1.shtml">标题</a>'
    html = "<body>" + "<div>" * 2000 + f"<p>正文第一段</p><p>正文第二段{link}</p>" + "</div>" * 2000 + "<p>后记</p>"
    tree = parse_html(bounded_nesting(html, max_depth=100, scan_above=0))
    assert depth(tree) <= 100 + 8  # html, body, the paragraph, the link and the text they hold
    assert tree.body is not None and tree.body.text(separator="|") == "正文第一段|正文第二段|标题|后记"
    assert [a.attributes["href"] for a in tree.css("a")] == ["/202211/t20221130_1.shtml"]


def test_what_the_parser_never_nests_is_not_counted() -> None:
    scripts = '<script>document.write("' + "<div>" * 300 + '")</script>'
    svg = "<svg>" + '<path d="M0"/>' * 300 + "</svg>"
    paragraphs = "<p>段落" * 300 + "<!--" + "<div>" * 300 + "-->"
    html = f"<body>{scripts}{svg}{paragraphs}<div><div>正文</div></div></body>"
    assert bounded_nesting(html, max_depth=50, scan_above=0) == html
    # an HTML element inside <svg> is open, self-closed or not: those still count
    breakout = "<body><svg>" + "<div/>" * 300 + "正文"
    assert bounded_nesting(breakout, max_depth=50, scan_above=0) != breakout


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus (../shared/corpus) is not beside the project")
def test_real_pages_are_parsed_as_sent() -> None:
    pages = sorted(CORPUS.rglob("*.htm*"))
    assert pages
    for page in pages:
        text = decode_html(page.read_bytes()).text
        assert bounded_nesting(text, scan_above=0) == text, page.name  # every real page is within the cap
    assert MAX_DEPTH == 512
