"""Feed kinds are a registry: one builder and its ``@feed_kind`` line make a feed everywhere."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime

import feedparser
import pytest
from starlette.testclient import TestClient

from crawler.dates import BEIJING
from feeds.build import build_feeds
from feeds.catalog import KINDS, SourceCatalog, kinds
from feeds.catalog import catalog as feed_catalog
from feeds.render import opml
from feeds.server import create_app
from storage import Store


@pytest.fixture
def removals_kind(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A kind a contributor adds as a new module of feeds.kinds with its @feed_kind line."""
    import feeds.catalog
    import feeds.kinds

    (tmp_path / "removals.py").write_text(REMOVALS, encoding="utf-8")
    monkeypatch.setattr(feeds.kinds, "__path__", [*feeds.kinds.__path__, str(tmp_path)])
    monkeypatch.setattr(feeds.catalog, "_loaded", False)  # as in a new process
    yield
    KINDS.pop("removals", None)
    sys.modules.pop("feeds.kinds.removals", None)


REMOVALS = """
from feeds.catalog import SourceCatalog, feed_kind
from feeds.items import FeedItem, FeedQuery
from storage import Store
from storage.clock import BEIJING
from storage.models import EventKind


@feed_kind("removals", path="removals", title="procwatch: 删除")
def removal_items(store: Store, catalog: SourceCatalog, query: FeedQuery, source_ids: list[str] | None) -> list[FeedItem]:
    events = store.history.events(kinds=[EventKind.removed], limit=query.limit, source_ids=source_ids)
    return [
        FeedItem(
            guid=f"{article.url}#removed-{event.id}",
            permalink=False,
            title=f"【删除】{article.title}",
            link=article.url,
            published=event.at.astimezone(BEIJING),
            updated=event.at.astimezone(BEIJING),
            html=f"<p>{article.title}</p>",
        )
        for event, article in events
    ]
"""


def test_the_built_in_kinds_are_registered_in_order() -> None:
    assert [spec.path for spec in feed_catalog(SourceCatalog(sources=[]))] == [
        "all",
        "campaigns",
        "emerging",
        "changes",
    ]
    assert {k.name for k in kinds().values()} == {"articles", "campaigns", "emerging", "changes"}


def test_a_registered_kind_is_built_served_and_listed(removals_kind: None, store: Store, tmp_path) -> None:
    from tests.storage.test_repository import PAGE

    store.writer.record("spp", PAGE)
    store.writer.mark_removed(PAGE.url, at=datetime(2024, 7, 12, tzinfo=BEIJING), reason="HTTP 404")
    catalog = SourceCatalog(sources=[])
    written = build_feeds(store, catalog, tmp_path, base_url="http://feeds.example")
    assert tmp_path / "removals.xml" in written and tmp_path / "removals.atom" in written
    parsed = feedparser.parse((tmp_path / "removals.xml").read_bytes())
    assert [e.title for e in parsed.entries] == [f"【删除】{PAGE.title}"]
    served = TestClient(create_app(store, lambda: catalog)).get("/removals.xml")
    assert served.status_code == 200 and PAGE.title in served.text
    assert b"removals.xml" in opml(feed_catalog(catalog), "http://feeds.example")
