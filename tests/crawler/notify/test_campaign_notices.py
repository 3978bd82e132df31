"""Campaign notifications: a campaign a source names for the first time, and a name `campaigns
emerging` proposes once a second source takes it up; neither for what a first crawl found."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from crawler.config import Config
from crawler.notify.notifier import Notifier
from storage import Store
from storage.clock import utcnow
from tests.storage.test_campaigns import Found
from tests.storage.test_repository import Page
from tests.support.receivers import WebhookReceiver


def test_a_campaign_new_to_a_source_and_an_emerging_one_are_told_once(store: Store) -> None:
    now = utcnow()
    with WebhookReceiver() as hook:
        config = Config.model_validate(
            {
                "notify": {
                    "destinations": {"hook": hook.url},
                    "rules": [{"name": "campaigns", "events": ["campaign", "emerging"], "to": ["hook"]}],
                }
            }
        )
        notifier = Notifier(store, lambda: config, lexicon=lambda: frozenset({"检察护企"}))
        # the first crawl of spp names 检察护企: known at start, not news
        store.writer.record(
            "spp",
            Page("https://spp/1", "旧闻", "开展检察护企。"),
            fetched_at=now - timedelta(days=3),
            mentions=[Found("检察护企")],
        )
        for source in ("spp", "sc"):
            store.sources.record_source_run(source, ok=True, at=now - timedelta(days=2))
        for day, source in ((1, "spp"), (0, "sc")):
            store.writer.record(
                source,
                Page(f"https://{source}/2", "部署检察护农", f"{source}全面开展“检察护农”专项行动。", published_at=now),
                fetched_at=now - timedelta(days=day),
                mentions=[Found("检察护农", contexts=[f"{source}全面开展“检察护农”专项行动"])],
            )
        assert asyncio.run(notifier.round()) == 3
        assert asyncio.run(notifier.round()) == 0  # emerging is looked for again later, and says nothing new
        titles = sorted(p["title"] for p in hook.received)
        assert titles == sorted(
            ["【首次提及】「检察护农」：sc", "【首次提及】「检察护农」：spp", "【新出现】「检察护农」"]
        )
        emerging = next(p for p in hook.received if p["title"].startswith("【新出现】"))
        assert "2 个来源" in emerging["message"] and "检察护农”专项行动" in emerging["message"]
