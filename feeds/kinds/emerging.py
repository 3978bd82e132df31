"""Names in no lexicon that several sources took up recently."""

from __future__ import annotations

import html
from datetime import datetime
from urllib.parse import quote

from feeds.catalog import SourceCatalog, feed_kind
from feeds.items import (
    FeedItem,
    FeedQuery,
    beijing,
    mark_names,
    published_label,
)
from feeds.safety import feed_html
from storage import Store
from storage.clock import BEIJING
from storage.emerging import EMERGING_MIN_SOURCES, EMERGING_WINDOW


@feed_kind("emerging", path="emerging", title="procwatch: 正在兴起的运动与提法(多个来源新近提到,尚未收录)", position=20)
def emerging_items(
    store: Store,
    catalog: SourceCatalog,
    query: FeedQuery,
    source_ids: list[str] | None = None,  # across every source: spread is what makes a name emerging
    *,
    now: datetime | None = None,
) -> list[FeedItem]:
    """Names in no lexicon that several sources took up in the last 30 days: one item each, dated when
    the second source mentioned it (the moment it became more than one portal's wording)."""
    since = (now or datetime.now(BEIJING)) - EMERGING_WINDOW
    known = catalog.known_campaigns
    rows = store.campaigns.emerging(since=since, min_sources=EMERGING_MIN_SOURCES, exclude=known, limit=query.limit)
    names = {s.id: s.name for s in catalog.sources}
    items = []
    for row in rows:
        campaign = row.campaign
        if query.q and query.q not in campaign.name:
            continue
        spread = "".join(
            f"<li>{html.escape(names.get(s.source_id, s.source_id))}:{beijing(s.first_seen_at):%Y-%m-%d %H:%M}"
            f"<blockquote>{mark_names(html.escape(s.context), [campaign.name])}</blockquote></li>"
            for s, _ in row.sources
        )
        body = (
            f"<p><mark>【{html.escape(campaign.name)}】</mark>:{len(row.sources)} 个来源、{row.articles} 篇文章提到,"
            f"尚未收录于词表。首次发现于 {beijing(campaign.first_seen_at):%Y-%m-%d %H:%M}(北京时间),"
            f"最早的文章发布于 {published_label(campaign.first_published_at)}。</p>"
            f"<ol>{spread}</ol>"
        )
        became = row.sources[EMERGING_MIN_SOURCES - 1][0].first_seen_at
        first_article = row.sources[0][1]
        items.append(
            FeedItem(
                guid=f"urn:procwatch:emerging:{quote(campaign.name)}",
                permalink=False,
                title=f"【兴起】{campaign.name}({len(row.sources)} 个来源)",
                link=first_article.url if first_article else "",
                published=beijing(became),
                updated=beijing(row.sources[-1][0].first_seen_at),
                html=feed_html(body),
                categories=("兴起", campaign.name),
                source_id=campaign.first_source_id,
            )
        )
    return sorted(items, key=lambda i: i.published, reverse=True)
