"""Normalisation, decoding and dates."""

from __future__ import annotations

from datetime import datetime

import pytest

from crawler.dates import BEIJING, date_from_url, labelled_date, parse_date
from crawler.decode import decode_html
from crawler.extract import extract_article
from crawler.normalise import clean_body, content_hash, normalise, strip_pinyin


def test_pinyin_annotations_inside_words_are_removed() -> None:
    assert strip_pinyin("系統(tǒng)內(nèi)巡視,協(xié)同") == "系統內巡視,協同"
    assert strip_pinyin("協（xié）同") == "協同"
    assert strip_pinyin("见附件(a)与图(2)") == "见附件(a)与图(2)"  # real brackets survive


def test_normalised_form_matches_across_scripts_and_whitespace() -> None:
    traditional = "最高人民檢察院召開黨組會,系統(tǒng)內(nèi)巡視。\n\n  會議還研究了其他事項。"
    simplified = "最高人民检察院召开党组会,系统内巡视。\n会议还研究了其他事项。"
    assert normalise(traditional) == normalise(simplified)
    assert content_hash("标题", traditional) == content_hash("標題", simplified)
    assert content_hash("标题", simplified) != content_hash("标题", simplified + "新增一句。")


def test_chrome_lines_are_dropped_but_attribution_kept_in_stored_text() -> None:
    text = "\n".join(
        [
            "正文第一段。",
            "分享到:微信 微博",
            "【打印本页】 【关闭窗口】",
            "- >>上一篇: 点军:以案促学",
            "(来源:山南报)",
            "原文链接:http://www.xz.jcy.gov.cn/dwjs/202211/t20221130_3898030.shtml",
            "[免责声明] 本文来源于网络转载,仅供学习交流使用。",
            "版权所有:最高人民检察院",
            "今天是:",
            "字号 大 中 小",
        ]
    )
    assert clean_body(text).split("\n") == [
        "正文第一段。",
        "(来源:山南报)",
        "原文链接:http://www.xz.jcy.gov.cn/dwjs/202211/t20221130_3898030.shtml",
    ]
    assert normalise(text) == "正文第一段。"  # attribution does not change the identity of an article


def test_gbk_page_labelled_utf8_is_detected() -> None:
    html = '<html><head><meta charset="utf-8"></head><body><p>最高人民检察院召开党组会,传达学习会议精神。</p></body></html>'
    decoded = decode_html(html.encode("gbk"), "text/html; charset=utf-8")
    assert decoded.encoding == "gb18030" and decoded.detected
    assert "最高人民检察院召开党组会" in decoded.text


def test_labels_are_used_when_they_decode_cleanly_and_gbk_means_gb18030() -> None:
    html = "<p>检察护企 𠮷</p>"  # a character outside GBK but inside GB18030
    decoded = decode_html(html.encode("gb18030"), "text/html; charset=GBK")
    assert decoded.encoding == "gb18030" and not decoded.detected and "𠮷" in decoded.text
    assert decode_html("\ufeff<p>检察</p>".encode("utf-8")).encoding == "utf-8"
    assert decode_html(
        '<meta http-equiv="Content-Type" content="text/html; charset=gb2312"><p>检察</p>'.encode("gbk")
    ).text.endswith("检察</p>")


TRADITIONAL = (
    "最高人民檢察院發布典型案例，各級檢察機關依法履行法律監督職責，"
    "深入開展「檢察護企」專項行動，保障民營企業合法權益，維護社會公平正義。"
)


@pytest.mark.parametrize("label", ["text/html; charset=utf-8", None])
def test_big5_labelled_utf8_or_unlabelled_is_big5_not_gb18030_mojibake(label: str | None) -> None:
    html = f'<html><head><meta charset="utf-8"></head><body><p>{TRADITIONAL}</p></body></html>'
    decoded = decode_html(html.encode("big5"), label)
    assert decoded.encoding.startswith("big5") and decoded.detected
    assert TRADITIONAL in decoded.text
    simplified = html.replace(TRADITIONAL, "最高人民检察院发布典型案例，各级检察机关依法履行法律监督职责。")
    assert decode_html(simplified.encode("gbk"), label).encoding == "gb18030"  # GBK stays GBK


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("meta", ["", '<meta charset="utf-16">'])
def test_utf16_without_a_byte_order_mark_is_read(encoding: str, meta: str) -> None:
    html = f"<html><head>{meta}<title>典型案例</title></head><body><p>{TRADITIONAL * 3}</p></body></html>"
    decoded = decode_html(html.encode(encoding))
    assert decoded.encoding == encoding and decoded.text == html
    article = extract_article(html.encode(encoding), "http://x.gov.cn/202211/t20221130_1.shtml")
    assert article.title == "典型案例" and TRADITIONAL in article.body_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("发布时间:2023-12-13 15:32:02", datetime(2023, 12, 13, 15, 32, 2, tzinfo=BEIJING)),
        ("2025-09-05", datetime(2025, 9, 5, tzinfo=BEIJING)),
        ("2022年5月10日 09:30", datetime(2022, 5, 10, 9, 30, tzinfo=BEIJING)),
        ("2024-07-09T10:30:00Z", datetime(2024, 7, 9, 18, 30, tzinfo=BEIJING)),
        ("2024/07/09", datetime(2024, 7, 9, tzinfo=BEIJING)),
        ("2023-02-30 and then 2023-03-01", datetime(2023, 3, 1, tzinfo=BEIJING)),  # impossible date skipped
        ("2099-01-01", None),
        ("no date here", None),
    ],
)
def test_dates_are_parsed_in_beijing_time(text: str, expected: datetime | None) -> None:
    parsed = parse_date(text)
    assert parsed == expected
    if parsed:
        assert parsed.utcoffset().total_seconds() == 8 * 3600


def test_labelled_date_skips_unlabelled_numbers() -> None:
    assert labelled_date("浏览次数 2019 发布日期:2024-01-02") == datetime(2024, 1, 2, tzinfo=BEIJING)


@pytest.mark.parametrize(
    ("url", "day"),
    [
        ("http://www.xz.jcy.gov.cn/dwjs/202211/t20221130_3898030.shtml", (2022, 11, 30)),
        ("http://www.sc.jcy.gov.cn/art/2016/11/22/art_1621004_30332664.html", (2016, 11, 22)),
        ("http://www.chinapeace.gov.cn/chinapeace/c100007/2022-05/10/content_123.shtml", (2022, 5, 10)),
        ("http://example.gov.cn/news/20231213/abc.html", (2023, 12, 13)),
    ],
)
def test_dates_from_cms_urls(url: str, day: tuple[int, int, int]) -> None:
    assert date_from_url(url) == datetime(*day, tzinfo=BEIJING)
