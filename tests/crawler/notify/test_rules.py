"""Which rules an outbox entry concerns, and when: triggers, filters, keywords, digests, quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawler.config import Notify, Rule, Source
from crawler.notify.rules import concerns, deliveries, due_at
from storage.clock import BEIJING
from storage.outbox import Notice

NOW = datetime(2026, 12, 3, 4, 30, tzinfo=UTC)  # 12:30 in Beijing
SICHUAN = Source(
    id="scjcy",
    name="四川省人民检察院",
    adapter="hanweb",
    lists=["https://www.sc.jcy.gov.cn/index.html"],
    schedule={"every": "30m"},
    level="provincial",
    region="四川",
    tags=["西部"],
)


def notice(kind: str = "published", **fields: object) -> Notice:
    base: dict[str, object] = {"id": 1, "kind": kind, "source_id": "scjcy", "at": NOW, "title": "标题", "body": "正文"}
    return Notice(**(base | fields))  # type: ignore[arg-type]


def rule(**fields: object) -> Rule:
    return Rule.model_validate({"name": "r", "to": ["hook"], **fields})


@pytest.mark.parametrize(
    ("fields", "entry", "fires"),
    [
        ({}, notice(), True),
        ({}, notice("campaign"), False),  # not among the default triggers
        ({"events": ["failing"], "failing_after": 3}, notice("failing", count=3), True),
        ({"events": ["failing"], "failing_after": 3}, notice("failing", count=4), False),  # said once, at 3
        ({"events": ["recovered"], "failing_after": 3}, notice("recovered", count=2), False),  # never said failing
        ({"events": ["recovered"], "failing_after": 3}, notice("recovered", count=5), True),
        ({"sources": ["spp"]}, notice(), False),
        ({"tags": ["西部"]}, notice(), True),
        ({"tags": ["四川"]}, notice(), True),  # the region is a tag too
        ({"levels": ["national"]}, notice(), False),
        ({"regions": ["四川"], "levels": ["provincial"]}, notice(), True),
        ({"tags": ["西部"]}, notice(source_id="gone"), False),  # a source no longer configured has no tags
        ({"match": "不起诉"}, notice(body="决定不起訴"), True),  # Traditional text, Simplified rule
        ({"match": "不起訴 -撤回"}, notice(body="决定不起诉，后撤回"), False),
        ({"match": '"认罪认罚" OR 不起诉'}, notice(title="认罪认罚从宽"), True),
        ({"regex": r"[张王]某(某)?被"}, notice(body="被告人張某某被判处"), True),
        ({"regex": "贪污"}, notice(body="貪汙"), True),  # a variant character folded too
        ({"match": "冬奥"}, notice("failing", count=3, title=None, body=None), False),  # no text: no keyword match
        (
            {"events": ["campaign"], "match": "护企"},
            notice("campaign", campaign="检察护企", title=None, body=None),
            True,
        ),
    ],
)
def test_a_rule_fires_when_its_trigger_and_every_filter_hold(fields, entry, fires) -> None:
    source = SICHUAN if entry.source_id == "scjcy" else None
    assert concerns(rule(**fields), entry, source) is fires


def test_immediate_digest_and_quiet_hours() -> None:
    assert due_at(rule(), NOW) == NOW
    hourly = due_at(rule(digest="1h"), NOW)
    assert hourly.astimezone(BEIJING).strftime("%H:%M") == "13:00"
    daily = due_at(rule(digest="1d"), NOW).astimezone(BEIJING)
    assert (daily.day, daily.hour) == (4, 0)
    # midnight falls in the quiet hours: the digest waits for their end
    quiet = due_at(rule(digest="1d", quiet_hours="22:00-07:30"), NOW).astimezone(BEIJING)
    assert (quiet.day, quiet.hour, quiet.minute) == (4, 7, 30)
    night = datetime(2026, 12, 3, 23, 15, tzinfo=BEIJING)
    assert due_at(rule(quiet_hours="22:00-07:00"), night).astimezone(BEIJING) == datetime(
        2026, 12, 4, 7, 0, tzinfo=BEIJING
    )
    lunch = datetime(2026, 12, 3, 12, 10, tzinfo=BEIJING)
    assert due_at(rule(quiet_hours="12:00-13:30"), lunch).astimezone(BEIJING).strftime("%H:%M") == "13:30"
    assert due_at(rule(quiet_hours="12:00-13:30"), NOW - timedelta(hours=2)) == NOW - timedelta(hours=2)


def test_an_old_article_found_late_is_not_announced() -> None:
    notify = Notify(destinations={"hook": "json://127.0.0.1/x"}, rules=[rule()])
    fresh = notice(published_at=NOW - timedelta(days=2))
    old = notice(published_at=NOW - timedelta(days=400))
    assert [d["destination"] for d in deliveries(fresh, notify, {"scjcy": SICHUAN}, now=NOW)] == ["hook"]
    assert deliveries(old, notify, {"scjcy": SICHUAN}, now=NOW) == []
    assert deliveries(notice("edited", published_at=old.published_at), notify, {}, now=NOW) != []  # an edit is news


def test_the_rules_triggers_are_the_outbox_kinds() -> None:
    from crawler.config import Trigger
    from storage.kinds import NoticeKind

    assert [t.value for t in Trigger] == [k.value for k in NoticeKind]
