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


def test_dates_come_from_each_links_row_and_a_huge_flat_list_is_read_once() -> None:
    rows = "".join(
        f'<li><a href="/spp/xwfbh/202407/t2024070{1 + i % 9}_{i}.shtml">标题{i}</a><span>2024-07-0{1 + i % 9}</span></li>'
        for i in range(30)
    )
    links = extract_links(f"<ul>{rows}</ul>", "https://www.spp.gov.cn/spp/xwfbh/", patterns=[TRS_ARTICLE])
    assert [link.listed_at.day for link in links[:3]] == [1, 2, 3]
    # one <div> holding thousands of links and dates: no row to read a date from, and no re-reading of
    # the whole container per link (quadratic before: 10,000 links took 37 s)
    flat = "".join(
        f'<a href="/spp/xwfbh/202407/t20240709_{i}.shtml">标题{i}</a><span>2024-07-09</span>' for i in range(20_000)
    )
    links = extract_links(f"<div>{flat}</div>", "https://www.spp.gov.cn/spp/xwfbh/", patterns=[TRS_ARTICLE])
    assert len(links) == 20_000 and links[0].listed_at is None
