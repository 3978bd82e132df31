"""``procwatch notify``: a rule tried on its destinations, the log of what was sent, one send round;
and the notify: section of sources.yaml checked with file:line errors like the rest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.crawler.notify.test_delivery import change_the_world, crawl_all, world_config
from tests.support.cli import procwatch
from tests.support.receivers import SmtpReceiver, WebhookReceiver

SOURCE = """sources:
  - id: spp
    name: 最高人民检察院
    adapter: trs
    lists: [https://www.spp.gov.cn/spp/xwfbh/index.shtml]
    schedule: {every: 30m}
"""


@pytest.mark.parametrize(
    ("notify", "line", "says"),
    [
        (
            "notify:\n  destinations: {mail: 'mailto://127.0.0.1?to=a@b'}\n  rules:\n    - {name: r, to: [hook]}\n",
            10,
            "notify.rules[0].to[0]: no destination 'hook' (mail)",
        ),
        (
            "notify:\n  destinations:\n    hook: 'nosuch://x'\n",
            9,
            "notify.destinations.hook: not a notification URL apprise can use (Unparseable URL nosuch://x)",
        ),
        (
            "notify:\n  destinations:\n    hook: 'json://127.0.0.1/${PROCWATCH_TEST_UNSET}'\n",
            9,
            "${PROCWATCH_TEST_UNSET} is not set",
        ),
        (
            "notify:\n  destinations: {h: 'json://127.0.0.1/x'}\n  rules:\n    - {name: r, to: [h], match: 'NOT 试点'}\n",
            10,
            "notify.rules[0].match: 'NOT 试点': nothing to search for",
        ),
        (
            "notify:\n  destinations: {h: 'json://127.0.0.1/x'}\n  rules:\n    - {name: r, to: [h], regex: '(未闭合'}\n",
            10,
            "notify.rules[0].regex: not a regular expression",
        ),
        (
            "notify:\n  destinations: {h: 'json://127.0.0.1/x'}\n  rules:\n    - {name: r, to: [h], quiet_hours: '晚上'}\n",
            10,
            "expected Beijing hours like '22:00-07:00'",
        ),
        (
            "notify:\n  destinations: {h: 'json://127.0.0.1/x'}\n  rules:\n    - {name: r, to: [h], sources: [sp]}\n",
            10,
            "notify.rules[0].sources[0]: no source 'sp'",
        ),
        (
            "notify:\n  destinations: {h: 'json://127.0.0.1/x'}\n  rules:\n    - {name: r, to: [h], events: [新文章]}\n",
            10,
            "notify.rules[0].events[0]: input should be 'published', 'edited'",
        ),
    ],
)
def test_a_wrong_notify_section_is_one_line_naming_file_and_line(
    tmp_path: Path, notify: str, line: int, says: str
) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(SOURCE + notify, encoding="utf-8")
    ran = procwatch("sources", "--config", str(path))
    assert ran.returncode == 2, ran.stdout
    assert f"{path}:{line}:" in ran.stderr and says in ran.stderr, ran.stderr
    assert "Traceback" not in ran.stderr


def test_notify_test_sends_a_sample_and_fails_for_a_destination_that_is_down(tmp_path: Path) -> None:
    with SmtpReceiver() as smtp:
        path = tmp_path / "sources.yaml"
        notify = f"""notify:
  destinations:
    mail: "{smtp.url()}"
    nobody: "json://127.0.0.1:9/nothing?cto=1"
  rules:
    - {{name: mail-only, to: [mail]}}
    - {{name: both, to: [mail, nobody]}}
"""
        path.write_text(SOURCE + notify, encoding="utf-8")
        ok = procwatch("notify", "test", "mail-only", "--config", str(path))
        assert ok.returncode == 0 and ok.stdout.strip() == "mail: sent"
        assert smtp.subjects == ["【新文章】procwatch 测试消息（规则 mail-only）"]
        partly = procwatch("notify", "test", "both", "--config", str(path))
        assert partly.returncode == 1 and "mail: sent" in partly.stdout and "nobody: FAILED: " in partly.stdout
        unknown = procwatch("notify", "test", "mail_only", "--config", str(path))
        assert unknown.returncode == 2 and "did you mean: mail-only?" in unknown.stderr


def test_notify_send_and_log_after_a_fetch_from_cron(mirror, sqlite_store, tmp_path: Path) -> None:
    with SmtpReceiver() as smtp, WebhookReceiver() as hook:
        config = world_config(mirror, tmp_path, smtp.url(), hook.url)
        db = str(sqlite_store.engine.url.database)
        crawl_all(sqlite_store, config)
        change_the_world(mirror)
        crawl_all(sqlite_store, config)
        assert procwatch("notify", "log", "--db", db).stdout.strip() == "nothing sent yet"
        hook.mode = "down"
        sent = procwatch("notify", "send", "--config", str(config.path), "--db", db)
        assert (
            sent.returncode == 0 and sent.stdout.strip() == "3 sent; 5 waiting after a failure (procwatch notify log)"
        )
        shown = procwatch("notify", "log", "--db", db).stdout
        assert shown.count(" sent ") == 3 and shown.count(" pending ") == 5 and "attempt 1: " in shown
        rows = json.loads(procwatch("notify", "log", "--db", db, "--json", "--status", "pending").stdout)
        assert len(rows) == 5 and {r["destination"] for r in rows} == {"hook"} and all(r["error"] for r in rows)
        assert procwatch("notify", "log", "--db", db, "--status", "lost").returncode == 2
