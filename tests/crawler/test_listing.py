"""List pages: which links are articles."""

from __future__ import annotations

from crawler.listing import MAX_URL, TRS_ARTICLE, extract_links


def test_an_absurdly_long_link_is_not_an_article() -> None:
    long_query = "x" * (MAX_URL + 10)
    html = (
        '<ul><li><a href="/spp/xwfbh/202407/t20240709_660012.shtml">党组会</a></li>'
        f'<li><a href="/spp/xwfbh/202407/t20240710_660013.shtml?{long_query}">超长</a></li></ul>'
    )
    links = extract_links(html, "https://www.spp.gov.cn/spp/xwfbh/index.shtml", patterns=[TRS_ARTICLE])
    assert [link.url for link in links] == ["https://www.spp.gov.cn/spp/xwfbh/202407/t20240709_660012.shtml"]
