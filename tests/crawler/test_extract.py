"""extract_article on pages shaped like the real portals."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from crawler.config import Selectors
from crawler.dates import BEIJING
from crawler.demo.mirror import Mirror, render_article
from crawler.extract import ExtractionError, clean_title, extract_article
from crawler.normalise import strip_pinyin

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "pages"
CHROME = ("分享到", "打印本页", "关闭窗口", "版权所有", "支持IPv6", "无障碍", "当前位置", "字体", "首页", "浏览次数")


def assert_clean(body: str) -> None:
    for junk in CHROME:
        assert junk not in body, f"page chrome {junk!r} left in body"


def test_trs_page_uses_meta_tags_and_the_editor_container() -> None:
    html = (PAGES / "spp_trs.html").read_bytes()
    url = "https://www.spp.gov.cn/spp/xwfbh/202312/t20231213_636950.shtml"
    article = extract_article(html, url)
    assert article.title == "最高检发布第五十批指导性案例"
    assert article.published_at == datetime(2023, 12, 13, 15, 32, tzinfo=BEIJING)
    assert article.source_label == "最高人民检察院"
    assert article.body_method == "container"
    assert article.body_text.startswith("12月13日,最高人民检察院以")
    assert article.body_text.endswith("依法严惩危害生产安全犯罪。")
    assert_clean(article.body_text)
    assert "<style" not in article.body_html and "TRS_Editor P" not in article.body_text
    assert 'src="https://www.spp.gov.cn/spp/xwfbh/202312/W020231213553211.jpg"' in article.body_html


def test_hanweb_page_uses_the_cms_body_marker() -> None:
    article = extract_article(
        (PAGES / "hanweb_zoom.html").read_text(), "http://www.gs.jcy.gov.cn/art/2021/4/8/art_1_2.html"
    )
    assert article.title == "我省检察机关开展“检察为民办实事”实践活动"
    assert article.published_at == datetime(2021, 4, 8, 9, 45, tzinfo=BEIJING)
    assert (article.source_label, article.author) == ("检察日报", "王鹏")
    assert article.body_method == "marker"
    assert article.body_text.count("\n") == 2
    assert_clean(article.body_text)


def test_page_without_cms_markers_falls_back_to_text_density() -> None:
    url = "http://www.chinapeace.gov.cn/chinapeace/c100007/2022-05/10/content_12625064.shtml"
    article = extract_article((PAGES / "chinapeace_plain.html").read_text(), url)
    assert article.title == "中央政法委召开全国政法队伍教育整顿总结会议"
    assert article.published_at == datetime(2022, 5, 10, 20, 14, 5, tzinfo=BEIJING)
    assert article.source_label == "中国长安网" and article.author == "长安君"
    assert article.body_method in ("container", "density")
    assert article.body_text.startswith("5月10日,全国政法队伍教育整顿总结会议在京召开")
    assert (
        "责任编辑" not in article.body_text
        and "热点推荐" not in article.body_text
        and "新闻一" not in article.body_text
    )


def test_per_source_selectors_win() -> None:
    html = (PAGES / "chinapeace_plain.html").read_text()
    selectors = Selectors(title=".time", body=".left", published=".time", drop=[".article-body p:last-child"])
    article = extract_article(html, "http://x.gov.cn/a.html", selectors=selectors)
    assert article.body_method == "selector" and article.title.startswith("2022-05-10")
    assert "长安君" in article.body_text and "李明" not in article.body_text


def test_mirror_pages_come_out_clean_including_gbk_and_traditional() -> None:
    mirror = Mirror()
    for site in mirror.sites.values():
        for index, item in enumerate(site.articles):
            html = render_article(site, item, index).encode(site.served_charset, "xmlcharrefreplace")
            article = extract_article(html, "http://127.0.0.1:1" + item.path)
            assert article.title == item.title
            assert article.published_at is not None and article.published_at.utcoffset().total_seconds() == 28800
            assert article.published_at.strftime("%Y-%m-%d") == item.published[:10]
            assert_clean(article.body_text)
            assert "(tǒng)" not in article.body_text and "上一篇" not in article.body_text
            first_line = next(line for line in item.body.split("\n") if line.strip())
            assert article.body_text.split("\n")[0] == strip_pinyin(first_line.strip())
            if site.served_charset == "gbk":
                assert article.encoding == "gb18030"


def test_traditional_repost_keeps_its_script_but_loses_the_annotations() -> None:
    mirror = Mirror()
    site = mirror.sites["scjcy"]
    html = render_article(site, site.articles[1], 1).encode("gbk", "xmlcharrefreplace")
    article = extract_article(html, "http://127.0.0.1:1/x.html")
    assert "系統內巡視" in article.body_text and "黨組會" in article.body_text


@pytest.mark.parametrize(
    ("html", "reason"),
    [("", "empty page"), ("%PDF-1.4 binary", "a PDF document"), ("<html><body><p>短</p></body></html>", "body")],
)
def test_pages_without_an_article_raise_a_clear_error(html: str, reason: str) -> None:
    with pytest.raises(ExtractionError, match=reason):
        extract_article(html, "http://x.gov.cn/a.html")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("全省高级检察官研讨班开班_最高人民检察院", "全省高级检察官研讨班开班"),
        ("中央政法委召开会议 - 中国长安网", "中央政法委召开会议"),
        ("会议纪要_要闻_最高人民检察院", "会议纪要"),
        ("2022-2023年度工作报告", "2022-2023年度工作报告"),
    ],
)
def test_site_suffixes_are_removed_from_titles(raw: str, clean: str) -> None:
    assert clean_title(raw) == clean
