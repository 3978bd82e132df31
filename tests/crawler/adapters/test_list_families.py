"""Link discovery and pagination per CMS family, on list pages shaped like the real ones.

The fixtures (tests/fixtures/lists/) reproduce each family's list structure with its chrome: TRS WCM
columns (relative ``./YYYYMM/tYYYYMMDD_N.shtml`` links, ``createPageHTML`` pager), 中国长安网-style
lists (``content_N.shtml``, a 下一页 link), provincial 政法网 on TRS with a ``countPage`` pager and
the links in a table, and 大汉 Hanweb columns (records inside a ``<datastore>`` script). Each is
read through the adapter sources.yaml names for that family.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from crawler.adapters import resolve
from crawler.adapters.base import ListPage
from crawler.config import parse_config

LISTS = Path(__file__).resolve().parents[2] / "fixtures" / "lists"


def parse(fixture: str, url: str, adapter: str, *, backfill: int = 2) -> ListPage:
    return parse_text((LISTS / fixture).read_text("utf-8"), url, adapter, backfill=backfill)


def parse_text(html: str, url: str, adapter: str, *, backfill: int = 2) -> ListPage:
    """What the adapter sources.yaml names reads from one list page."""
    entry = f"{{id: s, name: s, adapter: {adapter}, lists: ['{url}'], schedule: {{every: 1h}}}}"
    source = parse_config(f"sources:\n  - {entry}\n").sources[0]
    return resolve(adapter)(source).parse_list(html, url, backfill=backfill)


def test_trs_column_relative_article_links_dates_and_the_createpagehtml_pager() -> None:
    url = "https://www.spp.gov.cn/spp/xwfbh/wsfbt/index.shtml"
    page = parse("trs_column.shtml", url, "trs")
    assert len(page.links) == 20  # the list only: no navigation, topic banners, partner sites or footer
    first = page.links[0]
    assert first.url == "https://www.spp.gov.cn/spp/xwfbh/wsfbt/202407/t20240728_660100.shtml"
    assert first.title == "最高检发布检察机关依法惩治危害生产安全犯罪典型案例"
    assert first.listed_at is not None and first.listed_at.date() == date(2024, 7, 28)
    assert page.links[-1].listed_at is not None and page.links[-1].listed_at.date() == date(2024, 6, 9)
    assert page.next_pages == [
        "https://www.spp.gov.cn/spp/xwfbh/wsfbt/index_1.shtml",
        "https://www.spp.gov.cn/spp/xwfbh/wsfbt/index_2.shtml",
    ]
    later = (LISTS / "trs_column.shtml").read_text("utf-8").replace("createPageHTML(38, 0,", "createPageHTML(38, 37,")
    assert parse_text(later, url.replace("index.", "index_37."), "trs").next_pages == []  # the last page


def test_changan_style_content_links_and_the_next_page_link() -> None:
    url = "http://www.chinapeace.gov.cn/chinapeace/c100007/list.shtml"
    page = parse("zfw_content_list.shtml", url, "generic")
    assert len(page.links) == 15
    assert page.links[0].url == "http://www.chinapeace.gov.cn/chinapeace/c100007/2024-07/28/content_12745678.shtml"
    assert page.links[0].listed_at is not None and page.links[0].listed_at.date() == date(2024, 7, 28)
    assert all("/content_" in link.url for link in page.links)
    # 下一页, not the numbered pages or 尾页: one step at a time
    assert page.next_pages == ["http://www.chinapeace.gov.cn/chinapeace/c100007/list_2.shtml"]


def test_provincial_portal_on_trs_with_a_countpage_pager_and_a_table_list() -> None:
    url = "http://www.sxpeace.gov.cn/zfyw/index.html"
    page = parse("zfw_countpage.html", url, "generic")
    assert len(page.links) == 12
    assert page.links[0].url == "http://www.sxpeace.gov.cn/zfyw/202407/t20240728_3898030.html"
    assert page.links[0].title == "全国检察机关推进“一号检察建议”落实工作"
    assert page.next_pages == [
        "http://www.sxpeace.gov.cn/zfyw/index_1.html",
        "http://www.sxpeace.gov.cn/zfyw/index_2.html",
    ]
    assert parse("zfw_countpage.html", url, "generic", backfill=0).next_pages == []  # no backfill, no pages


@pytest.mark.parametrize("adapter", ["hanweb", "generic"])
def test_hanweb_records_inside_the_datastore_script(adapter: str) -> None:
    url = "https://www.gs.jcy.gov.cn/col/col1621004/index.html"
    page = parse("hanweb_column.html", url, adapter)
    if adapter == "generic":
        # the records are script text, not links: only the adapter for this CMS reads them
        assert page.links == []
        return
    assert len(page.links) == 15
    assert page.links[0].url == "https://www.gs.jcy.gov.cn/art/2024/7/28/art_1621004_30332664.html"
    assert page.links[0].listed_at is not None and page.links[0].listed_at.date() == date(2024, 7, 28)
    # Further records come from the site's dataproxy.jsp, which its JavaScript POSTs to: not followed
    # (what the page embeds, here 15 of 327, is what a run reads; backfill cannot reach further)
    assert page.next_pages == []
