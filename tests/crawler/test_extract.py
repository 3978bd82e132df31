"""extract_article on pages shaped like the real portals."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from crawler.config import Selectors
from crawler.dates import BEIJING
from crawler.demo.mirror import Mirror, render_article
from crawler.errors import ExtractionError
from crawler.extract import clean_title, extract_article
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
            # a headline repeated at the top of the body (here over two lines) is not body text
            first_line = next(line for line in item.body.split("\n") if line.strip() and line.strip() not in item.title)
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
    [("", "empty page"), ("%PDF-1.4 binary", "a PDF document"), ("<html><body><p>短</p></body></html>", "no article")],
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


def _page(body: str, *, head: str = "", above: str = "") -> str:
    return (
        f"<html><head><title>检察机关开展专项监督_某某省人民检察院</title>{head}</head><body>"
        f"<div class='nav'>首页 &gt; 工作动态</div><h1>检察机关开展专项监督</h1>{above}"
        f"<div class='article-body'>{body}</div><div class='footer'>版权所有：某某省人民检察院</div></body></html>"
    )


PARAGRAPH = "<p>近日，市检察院召开专题会议，部署开展专项监督工作，要求各基层院依法履职、主动作为，切实提升监督质效。</p>"


def test_the_displayed_date_wins_over_a_rewritten_meta_date_and_both_are_kept() -> None:
    html = _page(PARAGRAPH * 3, head='<meta name="PubDate" content="2023-11-10 15:33:34">', above="<p>日期：2021/09/06</p>")
    article = extract_article(html, "http://www.x.gov.cn/a.html")
    assert article.published_at == datetime(2021, 9, 6, tzinfo=BEIJING)
    assert article.meta_published_at == datetime(2023, 11, 10, 15, 33, 34, tzinfo=BEIJING)
    assert article.rules["published"] == "displayed"
    # when they agree, the meta tag supplies the time of day and nothing is kept twice
    same = extract_article(
        _page(PARAGRAPH * 3, head='<meta name="PubDate" content="2021-09-06 10:05">', above="<p>日期：2021-09-06</p>"),
        "http://www.x.gov.cn/a.html",
    )
    assert same.published_at == datetime(2021, 9, 6, 10, 5, tzinfo=BEIJING) and same.meta_published_at is None


def test_chrome_inside_the_body_container_is_cut_from_text_and_html() -> None:
    body = (
        "<table><tr><td>索引号：</td><td>000014349/2024-00123</td></tr><tr><td>发布机构：</td><td>某某局</td></tr></table>"
        + PARAGRAPH * 2
        + "<p>责任编辑：王五</p><div class='qr'><img src='qr.png'><p>扫一扫在手机打开当前页</p></div>"
        + "<p>【关闭当前页面】</p><ul><li><a href='/b.html'>相关文章标题</a></li></ul>"
    )
    article = extract_article(_page(body), "http://www.x.gov.cn/a.html")
    assert article.body_text.startswith("近日，市检察院") and article.body_text.endswith("切实提升监督质效。")
    for junk in ("索引号", "责任编辑", "扫一扫", "关闭当前页面", "相关文章", "qr.png", "版权所有"):
        assert junk not in article.body_text and junk not in article.body_html, junk
    assert article.status == "ok" and article.rules["body"] == "container"


@pytest.mark.parametrize(
    ("body", "status", "attachments"),
    [
        ("<p>见附件。</p><p><a href='/files/2024/notice.pdf'>关于开展专项监督的通知.pdf</a></p>"
         "<p><a href='list.xlsx?v=2'>名单.xlsx</a></p>", "attachment",
         ("http://www.x.gov.cn/files/2024/notice.pdf", "http://www.x.gov.cn/list.xlsx?v=2")),
        ("<p><img src='/poster.jpg'></p>", "media", ()),
        ("<p>通知</p>", "short", ()),
    ],
)
def test_a_thin_body_is_a_result_with_a_status_not_an_exception(
    body: str, status: str, attachments: tuple[str, ...]
) -> None:
    article = extract_article(_page(body), "http://www.x.gov.cn/a.html")
    assert article.title == "检察机关开展专项监督"
    assert article.status == status and article.attachments == attachments
    if status == "media":
        assert 'src="http://www.x.gov.cn/poster.jpg"' in article.body_html  # the poster is what the page says


def test_attachments_are_recorded_beside_a_full_body() -> None:
    article = extract_article(_page(PARAGRAPH * 3 + "<p><a href='a.docx'>附件1</a></p>"), "http://www.x.gov.cn/n/a.html")
    assert article.status == "ok" and article.attachments == ("http://www.x.gov.cn/n/a.docx",)


def test_a_short_article_beats_a_longer_sidebar_after_it() -> None:
    sidebar = "<div class='weibo'>" + "<p>博主今天发文称：市场高开低走，板块红盘居多，个股表现分化，建议持续关注。</p>" * 6 + "</div>"
    html = _page(PARAGRAPH * 2).replace("<div class='footer'>", sidebar + "<div class='footer'>")
    article = extract_article(html, "http://www.x.gov.cn/a.html")
    assert article.body_text.startswith("近日，市检察院") and "博主" not in article.body_text


def test_every_rule_that_found_a_field_is_named() -> None:
    html = (PAGES / "spp_trs.html").read_bytes()
    article = extract_article(html, "https://www.spp.gov.cn/spp/xwfbh/202312/t20231213_636950.shtml")
    assert article.rules["title"].startswith("meta:") and article.rules["body"] == "container"
    assert article.rules["published"] in ("displayed", "meta:pubdate", "displayed+meta:pubdate")


def test_the_synthetic_benchmark_corpus_still_extracts_exactly() -> None:
    """A regression set only (our own pages): accuracy claims come from the real corpus."""
    from bench.corpus import cases

    for case in cases(synthetic=10):
        article = extract_article(case.html, case.url)
        assert article.title == case.title, case.url
        assert article.published_at is not None and article.published_at.strftime("%Y-%m-%d") == case.date
        flat = "".join(article.body_text.split())
        # a first line that repeats the headline is (rightly) not body text
        assert case.first in case.title or "".join(case.first.split()) in flat, case.url
        assert "".join(case.last.split()) in flat, case.url


def test_a_private_use_character_in_the_text_does_not_break_body_finding() -> None:
    # U+E000 was the line separator of crawler.body: one in the page split a line in two and raised
    html = (
        "<html><head><title>标题测试</title></head><body><div class='TRS_Editor'>"
        "<p>第一段落内容\ue000这是正文，很长的一段文字。</p><p>第二段落，继续说明，内容足够长。</p></div></body></html>"
    )
    article = extract_article(html, "http://example.gov.cn/a.html")
    assert article.body_text == "第一段落内容\ue000这是正文，很长的一段文字。\n第二段落，继续说明，内容足够长。"


def test_a_huge_title_is_stored_cut_and_pages_stay_small(mirror, sqlite_store, tmp_path) -> None:
    """A 9 MB title was stored in full twice per version: /articles became 9 MB, /articles/1 27 MB."""
    from starlette.testclient import TestClient

    from crawler.config import load_config
    from crawler.extract import MAX_TITLE_CHARS
    from feeds.server import create_app
    from tests.conftest import crawl, feed_catalog

    mirror.edit("spp", 0, title="超长标题" * 175_000)  # 700,000 characters, three times on the page (within the 10 MB cap)
    crawl(mirror, sqlite_store, tmp_path, "spp")
    (article,) = [a for a in sqlite_store.browse.search_articles(limit=10).articles if a.title.startswith("超长标题")]
    assert len(article.title) == MAX_TITLE_CHARS and article.title.endswith("…")
    config = load_config(mirror.write_config(tmp_path / "sources.yaml"))
    web = TestClient(create_app(sqlite_store, lambda: feed_catalog(config)))
    assert len(web.get("/articles").content) < 200_000
    assert len(web.get(f"/articles/{article.id}").content) < 500_000
