"""Names procwatch saw for the first time, dated by when it saw them."""

from __future__ import annotations

import html
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
from storage.sanitize import safe_url


@feed_kind("campaigns", path="campaigns", title="procwatch: 新出现的运动与提法", position=10)
def campaign_items(
    store: Store, catalog: SourceCatalog, query: FeedQuery, source_ids: list[str] | None
) -> list[FeedItem]:
    # dated by when procwatch first saw each name; names known at the first crawl are not news
    rows = store.campaigns.campaigns(
        source_id=source_ids[0] if source_ids and len(source_ids) == 1 else None, new_only=True, limit=query.limit
    )
    names = {s.id: s.name for s in catalog.sources}
    rows = [(campaign, articles) for campaign, articles in rows if not query.q or query.q in campaign.name]
    firsts = store.history.articles_by_id(
        [campaign.first_article_id for campaign, _ in rows]
    )  # one query, not one per item
    items = []
    for campaign, articles in rows:
        first = firsts.get(campaign.first_article_id)
        link = first.url if first else ""
        kind = "运动" if campaign.kind == "campaign" else "提法"
        href = safe_url(link, "https://invalid.example/") or ""  # http(s) only: never a script link
        title = first.title if first else link
        body = (
            f"<p><mark>【{html.escape(campaign.name)}】</mark> <strong>新</strong>({kind})首次出现于"
            f"{html.escape(names.get(campaign.first_source_id, campaign.first_source_id))},"
            f"{beijing(campaign.first_seen_at):%Y-%m-%d %H:%M}(北京时间)首次发现,"
            f"文章发布于 {published_label(campaign.first_published_at)}:"
            f'<a href="{html.escape(href)}" rel="noopener noreferrer nofollow">{html.escape(title)}</a></p>'
            f"<blockquote>{mark_names(html.escape(campaign.first_context), [campaign.name])}</blockquote>"
            f"<p>已有 {articles} 篇文章提到。</p>"
        )
        items.append(
            FeedItem(
                guid=f"urn:procwatch:campaign:{quote(campaign.name)}",
                permalink=False,
                title=f"【新{kind}】{campaign.name}",
                link=link,
                published=beijing(campaign.first_seen_at),
                updated=beijing(campaign.first_seen_at),
                html=feed_html(body),
                categories=(kind, campaign.name),
                source_id=campaign.first_source_id,
            )
        )
    return items
