"""List pages: which links are articles."""

from __future__ import annotations

from crawler.listing import MAX_URL, TRS_ARTICLE, extract_links, on_source_sites, same_site


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


def test_sites_are_told_apart_by_the_public_suffix_list() -> None:
    # gov.cn is a public suffix: every ministry and province has a site under it, none is another's
    assert not same_site("http://www.chinapeace.gov.cn/a.shtml", "http://www.gov.cn/b.htm")
    assert not same_site("http://www.gov.cn/b.htm", "http://www.chinapeace.gov.cn/a.shtml")
    assert not same_site("http://www.spp.gov.cn/", "http://www.zj.gov.cn/")
    # one registrable domain, with or without www or a further subdomain
    assert same_site("http://www.spp.gov.cn/a.html", "http://spp.gov.cn/b.html")
    assert same_site("http://news.spp.gov.cn/a.html", "http://www.spp.gov.cn/")
    # a host the source names still takes its own links, and nothing else under gov.cn
    hosts = ["jcy.zj.gov.cn"]
    assert on_source_sites("http://jcy.zj.gov.cn/art/1.html", "http://www.zjjcy.gov.cn/", None, hosts)
    assert not on_source_sites("http://www.gov.cn/x.htm", "http://www.chinapeace.gov.cn/", None, hosts)
    # local mirrors stay told apart by port
    assert not same_site("http://127.0.0.1:8001/a", "http://127.0.0.1:8002/a")
