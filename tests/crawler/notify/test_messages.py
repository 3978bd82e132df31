"""Messages as a phone shows them: what happened first, then source, date, campaigns, diff, links."""

from __future__ import annotations

from datetime import UTC, datetime

from crawler.notify.messages import DIGEST_ITEMS, digest, message
from storage.outbox import Notice
from tests.crawler.notify.test_rules import SICHUAN

AT = datetime(2026, 12, 3, 4, 30, tzinfo=UTC)
SOURCES = {"scjcy": SICHUAN}


def test_an_edit_shows_its_changes_the_campaigns_and_both_links() -> None:
    edit = Notice(
        id=7,
        kind="edited",
        source_id="scjcy",
        at=AT,
        article_id=42,
        url="https://www.sc.jcy.gov.cn/a.html",
        title="全省检察机关部署专项行动",
        published_at=AT,
        version=2,
        campaigns=["检察护企", "检察护企"],
        previous_body="全省检察机关部署开展专项行动。",
        body="全省检察机关部署开展“检察护企”专项行动，为期一年。",
    )
    text = message(edit, SOURCES, link="https://pw.example.org/", rule="sichuan")
    assert text.title == "【修改】全省检察机关部署专项行动"
    lines = text.body.split("\n")
    assert lines[0] == "来源：四川省人民检察院" and lines[1] == "发布：2026-12-03 12:30（北京时间）"
    assert lines[2] == "涉及：「检察护企」"  # once, however often the version names it
    assert lines[3].startswith("第 2 版，改动 ") and any(line.startswith("+ ") and "检察护企" in line for line in lines)
    assert "存档：https://pw.example.org/articles/42" in lines and "原文：https://www.sc.jcy.gov.cn/a.html" in lines
    assert lines[-1] == "procwatch #7 · 规则 sichuan"


def test_failing_recovered_and_campaign_messages_say_what_happened() -> None:
    failing = Notice(id=1, kind="failing", source_id="scjcy", at=AT, count=3, note="TransportError: timed out")
    text = message(failing, SOURCES, link="https://pw.example.org")
    assert text.title == "【抓取失败】四川省人民检察院：连续 3 次失败"
    assert "TransportError: timed out" in text.body and "https://pw.example.org/sources/scjcy" in text.body
    back = message(Notice(id=2, kind="recovered", source_id="scjcy", at=AT, count=3), SOURCES, link=None)
    assert back.title == "【恢复抓取】四川省人民检察院：3 次失败后恢复"
    first = Notice(
        id=3, kind="campaign", source_id="scjcy", at=AT, campaign="检察护农", context="开展“检察护农”专项行动"
    )
    shown = message(first, SOURCES, link="https://pw.example.org")
    assert shown.title == "【首次提及】「检察护农」：四川省人民检察院"
    assert "https://pw.example.org/campaigns/%E6%A3%80%E5%AF%9F%E6%8A%A4%E5%86%9C" in shown.body


def test_a_digest_groups_by_source_and_counts_what_it_leaves_out() -> None:
    notices = [
        Notice(id=n, kind="published", source_id="scjcy" if n % 2 else "spp", at=AT, title=f"标题{n}", article_id=n)
        for n in range(1, DIGEST_ITEMS + 11)
    ]
    text = digest("daily", notices, SOURCES, link="https://pw.example.org")
    assert text.title == f"【procwatch 摘要】daily：{DIGEST_ITEMS + 10} 条"
    assert "■ 四川省人民检察院（30）" in text.body and "■ spp（30）" in text.body  # an unknown source by its id
    assert "· 【新文章】标题1 https://pw.example.org/articles/1" in text.body
    assert text.body.endswith("…… 另有 10 条")
