"""Notifications reach real receivers on 127.0.0.1 (an SMTP server and a webhook), once per event
and destination, over crawls of a local portal that publishes, edits and removes."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from starlette.testclient import TestClient

from crawler.config import Config
from crawler.notify.notifier import Notifier
from crawler.validate import load
from feeds.server import create_app
from storage import Store
from storage.clock import BEIJING, utcnow
from storage.sources import health_report
from tests.conftest import feed_catalog, runtime_for
from tests.support.receivers import SmtpReceiver, WebhookReceiver

NEW_BODY = (
    "近日，某区人民检察院对一起涉企案件依法作出不起诉决定。\n"
    "检察机关在审查中认真听取企业意见，依法保障民营企业合法权益。\n"
    "该院表示，将继续做深做实检察护企工作，营造法治化营商环境。"
)
EDIT = "\n本院同时向有关部门制发检察建议，督促整改落实，切实维护群众合法权益，取得良好效果。"


def notify_yaml(mail: str, hook: str, *, retry: str = "30s") -> str:
    return f"""
notify:
  link: http://procwatch.example.org
  retry: {retry}
  destinations:
    mail: "{mail}"
    hook: "{hook}"
  rules:
    - name: everything
      to: [mail, hook]
    - name: non-prosecution
      match: 不起诉决定 OR 督促整改落實
      to: [hook]
"""


def world_config(mirror, tmp_path: Path, mail: str, hook: str, **options: str) -> Config:
    path = mirror.write_config(tmp_path / "sources.yaml")
    path.write_text(path.read_text() + notify_yaml(mail, hook, **options), encoding="utf-8")
    return load(path)


def crawl_all(store: Store, config: Config) -> None:
    """One on-demand crawl of every source, as `procwatch fetch` does (no notifier runs)."""

    async def main() -> None:
        async with runtime_for(config, store) as runtime:
            for source in config.sources:
                await runtime.fetch(source)

    asyncio.run(main())


def change_the_world(mirror) -> dict[str, str]:
    """A new article on spp, an edit on scjcy that adds a keyword, a removal on zfw."""
    site = mirror.sites["spp"]
    site.articles.insert(
        0,
        replace(
            site.articles[0],
            path="/spp/xwfbh/202412/t20241203_700001.shtml",
            title="某区检察院依法作出不起诉决定",
            published=f"{utcnow().astimezone(BEIJING):%Y-%m-%d %H:%M:%S}",
            body=NEW_BODY,
        ),
    )
    mirror.publish("spp")
    edited = mirror.sites["scjcy"].articles[0]
    mirror.edit("scjcy", 0, body=edited.body + EDIT)
    removed = mirror.sites["zfw"].articles[0]
    mirror.remove("zfw", 0)
    return {"new": "某区检察院依法作出不起诉决定", "edited": edited.title, "removed": removed.title}


def rounds(notifier: Notifier, times: int = 1) -> int:
    async def main() -> int:
        return sum([await notifier.round() for _ in range(times)])

    return asyncio.run(main())


def test_each_event_reaches_each_destination_once(mirror, store: Store, tmp_path: Path) -> None:
    with SmtpReceiver() as smtp, WebhookReceiver() as hook:
        config = world_config(mirror, tmp_path, smtp.url(), hook.url)
        notifier = Notifier(store, lambda: config)
        crawl_all(store, config)
        assert rounds(notifier) == 0  # the first crawl is what was there before procwatch looked: no news
        titles = change_the_world(mirror)
        crawl_all(store, config)
        assert rounds(notifier, 2) == 8  # 3 mails, 5 posts; the second round finds nothing more

        expected = [f"【新文章】{titles['new']}", f"【修改】{titles['edited']}", f"【删除】{titles['removed']}"]
        assert sorted(smtp.subjects) == sorted(expected)
        # the webhook has the same three, and the keyword rule's two: the new article says 不起诉决定, the
        # edit added 督促整改落实 (the rule wrote it in Traditional)
        assert sorted(hook.titles) == sorted([*expected, expected[0], expected[1]])
        edit = next(p for p in hook.received if p["title"] == expected[1])
        assert "督促整改落实" in edit["message"] and "+" in edit["message"]  # the short diff shows the addition
        assert "http://procwatch.example.org/articles/" in edit["message"]
        mail = next(m for m in smtp.messages if m["Subject"] == expected[0])
        body = mail.get_content()
        assert "来源：最高人民检察院" in body and "不起诉决定" in body and "原文：http://127.0.0.1" in body
        log = store.outbox.log(limit=100)
        assert len(log) == 8 and {r.status for r in log} == {"sent"}


def test_a_dead_destination_is_retried_and_reported_without_holding_back_the_others(
    mirror, store: Store, tmp_path: Path
) -> None:
    with SmtpReceiver() as smtp, WebhookReceiver() as hook:
        config = world_config(mirror, tmp_path, smtp.url(), hook.url, retry="1s")
        notifier = Notifier(store, lambda: config)
        crawl_all(store, config)
        change_the_world(mirror)
        crawl_all(store, config)
        hook.mode = "down"
        assert rounds(notifier) == 3  # the mail went out
        assert len(smtp.messages) == 3 and hook.refused == 5 and hook.received == []
        health = health_report({}, [], destinations=store.outbox.destinations(list(config.notify.destinations)))
        assert health["status"] == "degraded"
        assert health["notifications"]["hook"]["status"] == "failing"
        assert health["notifications"]["hook"]["retrying"] == 5
        assert "503" in health["notifications"]["hook"]["last_error"]
        assert health["notifications"]["mail"]["status"] == "ok"
        # the web view and /healthz of `procwatch serve` say so too
        web = TestClient(create_app(store, lambda: feed_catalog(config)))
        assert web.get("/healthz").json()["notifications"]["hook"]["status"] == "failing"
        (shown,) = web.get("/index.json").json()["failing_destinations"]
        assert shown["name"] == "hook" and shown["retrying"] == 5
        assert "发不出去的通知" in web.get("/").text
        hook.mode = "up"

        async def until_delivered() -> None:
            deadline = utcnow() + timedelta(seconds=30)
            while len(hook.received) < 5:
                assert utcnow() < deadline, "the webhook never got its messages"
                await notifier.round(now=utcnow() + timedelta(seconds=2))  # as if the 1 s pause had passed

        asyncio.run(until_delivered())
        assert len(hook.received) == 5 and len(smtp.messages) == 3
        health = health_report({}, [], destinations=store.outbox.destinations(list(config.notify.destinations)))
        assert health["status"] == "ok" and health["notifications"]["hook"]["status"] == "ok"


def test_a_destination_that_never_answers_is_given_up_after_its_attempts(mirror, sqlite_store, tmp_path) -> None:
    with SmtpReceiver() as smtp, WebhookReceiver() as hook:
        config = world_config(mirror, tmp_path, smtp.url(), "json://127.0.0.1:9/nothing-listens", retry="1s")
        config = config.model_copy(update={"notify": config.notify.model_copy(update={"attempts": 2})})
        notifier = Notifier(sqlite_store, lambda: config)
        crawl_all(sqlite_store, config)
        change_the_world(mirror)
        crawl_all(sqlite_store, config)
        rounds(notifier)
        asyncio.run(notifier.round(now=utcnow() + timedelta(minutes=5)))
        failed = sqlite_store.outbox.log(status="failed")
        assert len(failed) == 5 and all(r.attempts == 2 and r.last_error for r in failed)
        assert len(smtp.messages) == 3 and hook.received == []


def test_a_digest_groups_by_source_and_waits_for_its_time(mirror, sqlite_store, tmp_path) -> None:
    with WebhookReceiver() as hook:
        path = mirror.write_config(tmp_path / "sources.yaml")
        notify = f"""
notify:
  destinations: {{hook: "{hook.url}"}}
  rules:
    - {{name: daily, to: [hook], digest: 1d}}
"""
        path.write_text(path.read_text() + notify, encoding="utf-8")
        config = load(path)
        notifier = Notifier(sqlite_store, lambda: config)
        crawl_all(sqlite_store, config)
        change_the_world(mirror)
        crawl_all(sqlite_store, config)
        assert rounds(notifier) == 0 and hook.received == []  # not before Beijing midnight
        assert asyncio.run(notifier.round(now=utcnow() + timedelta(days=1))) == 3
        assert len(hook.received) == 1
        digest = hook.received[0]
        assert digest["title"] == "【procwatch 摘要】daily：3 条"
        assert "■ 最高人民检察院（1）" in digest["message"] and "【删除】" in digest["message"]


def test_entries_recorded_by_a_process_that_died_are_sent_by_the_next(mirror, sqlite_store, tmp_path) -> None:
    """What `procwatch fetch` (or a daemon killed before its notifier ran) recorded waits in the outbox."""
    with WebhookReceiver() as hook, SmtpReceiver() as smtp:
        config = world_config(mirror, tmp_path, smtp.url(), hook.url)
        crawl_all(sqlite_store, config)
        change_the_world(mirror)
        crawl_all(sqlite_store, config)  # recorded; nothing has been sent
        waiting = sqlite_store.outbox.undispatched()
        assert hook.received == [] and {"published", "edited", "removed"} <= {n.kind for n in waiting}
        assert rounds(Notifier(sqlite_store, lambda: config)) == 8
        assert rounds(Notifier(sqlite_store, lambda: config)) == 0  # another notifier finds nothing left
        assert len(hook.received) == 5 and len(smtp.messages) == 3
