"""Reported edits (with a diff), removals and restorations."""

from __future__ import annotations

import html

from feeds.catalog import SourceCatalog, feed_kind, tags
from feeds.diff import diff_html
from feeds.items import (
    DIFF_TEXT_CAP,
    MAX_LIMIT,
    SUMMARY_CHARS,
    FeedItem,
    FeedQuery,
    beijing,
    categories,
)
from feeds.safety import feed_html, plain_text
from storage import Store
from storage.history import Change, VersionText
from storage.models import EventKind

_KIND_LABEL = {EventKind.edited: "修改", EventKind.removed: "删除", EventKind.restored: "恢复"}


@feed_kind("changes", path="changes", title="procwatch: 修改、删除与恢复", position=30)
def changes_feed(
    store: Store, catalog: SourceCatalog, query: FeedQuery, source_ids: list[str] | None
) -> list[FeedItem]:
    return change_items(store, catalog, change_events(store, catalog, query, source_ids))


def change_events(store: Store, catalog: SourceCatalog, query: FeedQuery, source_ids: list[str] | None) -> list[Change]:
    """The newest reported edits, removals and restorations a feed shows, with their articles."""
    if query.campaign:
        return []
    found = None
    if query.q:  # changes of the articles a search finds (every version's text, storage.search_terms)
        found = [
            hit.article.id
            for hit in store.search.search(query.q, limit=MAX_LIMIT, source_ids=source_ids, tags=tags(catalog)).hits
        ]
    return store.history.changes(list(_KIND_LABEL), limit=query.limit, source_ids=source_ids, article_ids=found)


def change_items(store: Store, catalog: SourceCatalog, rows: list[Change]) -> list[FeedItem]:
    version_ids = [c.version_id for c in rows if c.version_id]
    versions = store.history.versions_by_id(version_ids)
    previous = store.history.previous_versions(version_ids)
    items = []
    for event in rows:
        article = event.article
        label = _KIND_LABEL[EventKind(event.kind)]
        version = versions.get(event.version_id) if event.version_id else None
        if event.kind == EventKind.edited and version is not None:
            guid = f"{article.url}#procwatch-v{version.version}"
            body = _edit_html(previous.get(version.id), version)
        else:
            guid = f"{article.url}#procwatch-{event.kind}-{event.id}"
            body = f"<p>{label}于 {beijing(event.at):%Y-%m-%d %H:%M}(北京时间)。{html.escape(event.note or '')}</p>"
        items.append(
            FeedItem(
                guid=guid,
                permalink=False,
                title=f"【{label}】{plain_text(article.title)}",
                link=article.url,
                published=beijing(event.at),
                updated=beijing(event.at),
                html=feed_html(body),
                categories=(label, *categories(catalog, article.source_id, [])),
                source_id=article.source_id,
            )
        )
    return items


def _edit_html(previous: VersionText | None, version: VersionText) -> str:
    if previous is None:
        return f"<p>{html.escape(version.body_text[:SUMMARY_CHARS])}</p>"
    old = f"{previous.title}\n{previous.body_text}"[:DIFF_TEXT_CAP]
    new = f"{version.title}\n{version.body_text}"[:DIFF_TEXT_CAP]
    return (
        f"<p>第 {previous.version} 版 → 第 {version.version} 版,改动 {version.change_chars} 字:</p>"
        f"<p>{diff_html(old, new, markers=True)}</p>"
    )
