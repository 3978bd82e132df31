"""The main feed and every source's and tag's: new articles and reported changes together."""

from __future__ import annotations

import html
from datetime import datetime

from feeds.catalog import SourceCatalog, feed_kind, tags
from feeds.items import (
    SUMMARY_CHARS,
    FeedItem,
    FeedQuery,
    beijing,
    categories,
    mark_names,
)
from feeds.kinds.changes import change_events, change_items
from feeds.safety import feed_html, plain_text
from storage import Store
from storage.history import ArticleHead, VersionText
from storage.models import Campaign, CampaignMention


@feed_kind("articles", path="all", title="procwatch: 全部来源的新文章与修改", position=0)
def new_and_changed_items(
    store: Store, catalog: SourceCatalog, query: FeedQuery, source_ids: list[str] | None
) -> list[FeedItem]:
    """New articles and reported changes together: the main feed, and every source's and tag's.
    The newest are chosen by their rows first; only those become items (a diff, a summary each)."""
    articles = feed_articles(store, catalog, query, source_ids)
    events = change_events(store, catalog, query, source_ids)
    dated = [(published(a), a, None) for a in articles] + [(beijing(c.at), None, c) for c in events]
    chosen = sorted(dated, key=lambda d: d[0], reverse=True)[: query.limit]
    items = article_items(store, catalog, query, [a for _, a, _ in chosen if a is not None]) + change_items(
        store, catalog, [c for _, _, c in chosen if c is not None]
    )
    return sorted(items, key=lambda i: i.published, reverse=True)


def feed_articles(
    store: Store, catalog: SourceCatalog, query: FeedQuery, source_ids: list[str] | None
) -> list[ArticleHead]:
    """The newest articles a feed shows, newest first, or those the query's search finds."""
    if query.q:  # every version's title and body, in the search language (storage.search_terms)
        hits = store.search.search(query.q, limit=query.limit, source_ids=source_ids, tags=tags(catalog)).hits
        articles = [ArticleHead.of(hit.article) for hit in hits]
        if query.campaign:
            mentioning = store.browse.articles_mentioning(query.campaign, [a.id for a in articles])
            articles = [a for a in articles if a.id in mentioning]
        return articles
    return store.browse.latest_heads(query.limit, source_ids=source_ids, campaign=query.campaign)


def published(article: ArticleHead) -> datetime:
    return beijing(article.published_at or article.first_seen)


def article_items(
    store: Store, catalog: SourceCatalog, query: FeedQuery, articles: list[ArticleHead]
) -> list[FeedItem]:
    versions = store.history.current_versions([a.id for a in articles])
    mentions = store.campaigns.mentions_for_versions([v.id for v in versions.values()])
    names = {s.id: s.name for s in catalog.sources}
    items = []
    for article in articles:
        version = versions.get(article.id)
        if version is None:
            continue
        found = mentions.get(version.id, [])
        items.append(
            FeedItem(
                guid=article.url,
                permalink=True,
                title=plain_text(article.title) + (" 【已删除】" if article.status == "removed" else ""),
                link=article.url,
                published=published(article),
                updated=beijing(version.fetched_at),
                html=_article_html(article, version, found, names, query.fulltext),
                categories=categories(catalog, article.source_id, found),
                author=plain_text(version.author or version.source_label or names.get(article.source_id, "")) or None,
                source_id=article.source_id,
            )
        )
    return items


def _article_html(
    article: ArticleHead,
    version: VersionText,
    found: list[tuple[Campaign, CampaignMention]],
    names: dict[str, str],
    fulltext: bool,
) -> str:
    meta = [
        f"来源:{html.escape(version.source_label)}" if version.source_label else "",
        f"作者:{html.escape(version.author)}" if version.author else "",
        html.escape(names.get(article.source_id, article.source_id)),
    ]
    parts = [f"<p><small>{' · '.join(m for m in meta if m)}</small></p>"]
    campaign_names = [c.name for c, _ in found]
    if fulltext:
        parts += [f"<p>{mark_names(html.escape(line), campaign_names)}</p>" for line in version.body_text.split("\n")]
    else:
        summary = version.body_text.replace("\n", " ")
        summary = summary[:SUMMARY_CHARS] + ("…" if len(summary) > SUMMARY_CHARS else "")
        parts.append(f"<p>{mark_names(html.escape(summary), campaign_names)}</p>")
    if found:
        labels = []
        for campaign, _ in found:
            new = " <strong>新</strong>" if campaign.first_article_id == article.id and not campaign.baseline else ""
            # 【】 shows in every reader, text-only ones included
            labels.append(f"<mark>【{html.escape(campaign.name)}】</mark>{new}")
        parts.append(f"<p>运动与提法:{'、'.join(labels)}</p>")
    return feed_html("".join(parts))
