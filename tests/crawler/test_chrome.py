"""Page chrome removal: one mechanism, phrases as data (crawler/chrome.yaml)."""

from __future__ import annotations

import yaml

from crawler.chrome import article_span, is_chrome_line, is_credit_line, rules
from crawler.normalise import clean_body

PROSE = "检察机关深入推进专项工作，依法履行法律监督职责，取得明显成效。"


def span(lines: list[str], title: str = "") -> list[str]:
    start, end = article_span(lines, title)
    return lines[start:end]


def test_every_phrase_list_in_the_data_file_is_a_list_of_strings() -> None:
    from importlib.resources import files

    data = yaml.safe_load(files("crawler").joinpath("chrome.yaml").read_text(encoding="utf-8"))
    for key, phrases in data.items():
        assert phrases and all(isinstance(p, str) and p.strip() for p in phrases), key
    assert rules().end and rules().credits and rules().head


def test_metadata_above_the_body_is_cut_and_the_article_kept() -> None:
    lines = [
        "首页 > 工作动态 > 正文",
        "全省检察机关召开会议",
        "索 引 号：",
        "11510000MB0000000X/2024-00123",
        "发布机构：省人民检察院",
        "2024年12月07日 08时01分",
        "来源:",
        "省检察院",
        "【字体：大 中 小】",
        PROSE,
        "第二段。" + PROSE,
    ]
    assert span(lines, "全省检察机关召开会议") == [PROSE, "第二段。" + PROSE]


def test_a_headline_shown_on_two_lines_is_not_body_text() -> None:
    lines = ["四川省医药健康产业供需对接活动在成都举行", "现场发布医药健康产业供需清单", PROSE]
    assert span(lines, "四川省医药健康产业供需对接活动在成都举行 现场发布医药健康产业供需清单") == [PROSE]
    # a first line that only begins like the headline is the article's own subheading
    assert span(["以党的二十大精神为指引", PROSE], "以党的二十大精神为指引 奋力推动检察工作") == [
        "以党的二十大精神为指引",
        PROSE,
    ]


def test_the_article_ends_at_the_first_end_phrase_after_its_text() -> None:
    lines = [PROSE, "（记者 陈俊伶）", "扫一扫在手机打开当前页", "相关附件>>", "相关链接>>", "另一篇文章的标题", PROSE]
    assert span(lines) == [PROSE, "（记者 陈俊伶）"]


def test_a_promotion_above_the_article_falls_away_with_the_box_after_it() -> None:
    promo = "新酷产品第一时间免费试玩，还有众多优质达人分享独到生活经验，快来体验吧！"
    lines = [promo, "相关新闻：", "苹果发布新品", PROSE, PROSE + "二", PROSE + "三", "分享到：微信 微博"]
    assert span(lines) == [PROSE, PROSE + "二", PROSE + "三"]


def test_credit_and_promotion_lines_are_peeled_off_the_end() -> None:
    lines = [PROSE, "责任编辑：张三", "校对：李四", "本文来源：某某报", "扫描二维码关注官方微信公众号"]
    assert span(lines) == [PROSE]
    assert span([PROSE, "信息来源于网络", "经过重新编排"]) == [PROSE]
    # a credit phrase inside the article is text
    assert span(["来源：省检察院", PROSE, "本案来源于群众举报，" + PROSE]) == [PROSE, "本案来源于群众举报，" + PROSE]


def test_chrome_lines_wherever_they_are() -> None:
    for line in ("- >>上一篇: 点军:以案促学", "【打印本页】 【关闭窗口】", "字号 大 中 小", "【 】", "word下载 pdf下载"):
        assert is_chrome_line(line), line
    for line in (PROSE, "打印机采购项目公开招标", "大数据赋能法律监督"):
        assert not is_chrome_line(line), line
    assert is_credit_line("责任编辑：王五") and not is_credit_line(PROSE)


def test_clean_body_uses_the_same_rules() -> None:
    assert clean_body(f"{PROSE}\n分享到：微信 微博\n扫一扫在手机打开当前页") == PROSE


def test_organiser_lines_end_the_page_only_where_no_text_follows() -> None:
    notice = [PROSE, "一、组织机构", "主办单位：教育部思想政治工作司", "承办单位：某某大学", "二、活动内容", PROSE + "二"]
    assert span(notice) == notice  # part of a notice
    footer = [PROSE, "主办单位：某某市人民政府办公厅", "网站标识码：1234567890", "ICP备05001359号"]
    assert span(footer) == [PROSE]
