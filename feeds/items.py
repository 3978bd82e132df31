"""Feed items from storage: publications, reported changes and newly seen campaigns.

GUIDs are stable per event: an article's publication keeps its URL as GUID forever; a reported
edit gets ``URL#procwatch-vN``; a removal or restoration ``URL#procwatch-removed-ID``; a campaign
``urn:procwatch:campaign:NAME``. Rebuilding a feed never changes a GUID, and an edit is a new item.
Each feed scopes these by its own path when it renders them (feeds.render.scoped_guid).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from feeds.catalog import FeedSpec, SourceCatalog, feed_kind, kinds
from feeds.diff import diff_html
from feeds.safety import clean_html, plain_text
from storage import Store
from storage.clock import BEIJING
from storage.emerging import EMERGING_MIN_SOURCES, EMERGING_WINDOW
from storage.models import Article, ArticleVersion, Campaign, CampaignMention, EventKind

SUMMARY_CHARS = 240
DIFF_TEXT_CAP = 20_000
MAX_LIMIT = 500
_KIND_LABEL = {EventKind.edited: "修改", EventKind.removed: "删除", EventKind.restored: "恢复"}


@dataclass(frozen=True)
class FeedQuery:
    """Filters a reader can put on a feed URL."""

    limit: int = 50
    q: str | None = None
    source: str | None = None
    tag_sources: tuple[str, ...] | None = None
    campaign: str | None = None
    fulltext: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "limit", max(1, min(MAX_LIMIT, self.limit)))


@dataclass(frozen=True)
class FeedItem:
    guid: str
    permalink: bool
    title: str
    link: str
    published: datetime
    updated: datetime
    html: str
    categories: tuple[str, ...] = ()
    author: str | None = None
    source_id: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False)


def source_scope(feed_sources: tuple[str, ...] | None, query: FeedQuery) -> list[str] | None:
    """The sources a feed (None: all) narrowed by the query's ``source`` and ``tag`` (None: every source)."""
    chosen = set(feed_sources) if feed_sources is not None else None
    for narrower in ((query.source,) if query.source else None, query.tag_sources):
        if narrower is not None:
            chosen = set(narrower) if chosen is None else chosen & set(narrower)
    return sorted(chosen) if chosen is not None else None


def items_for(store: Store, catalog: SourceCatalog, spec: FeedSpec, query: FeedQuery) -> list[FeedItem]:
    """The items of one feed, newest first."""
    return kinds()[spec.kind].build(store, catalog, query, source_scope(spec.source_ids, query))


@feed_kind("articles", path="all", title="procwatch: 全部来源的新文章与修改")
def new_and_changed_items(
    store: Store, catalog: SourceCatalog, query: FeedQuery, source_ids: list[str] | None
) -> list[FeedItem]:
    """New articles and reported changes together: the main feed, and every source's and tag's."""
    items = article_items(store, catalog, query, source_ids) + change_items(store, catalog, query, source_ids)
    return sorted(items, key=lambda i: i.published, reverse=True)[: query.limit]


def article_items(
    store: Store, catalog: SourceCatalog, query: FeedQuery, source_ids: list[str] | None
) -> list[FeedItem]:
    articles = store.browse.latest_articles(query.limit, source_ids=source_ids, query=query.q, campaign=query.campaign)
    versions = store.history.current_versions([a.id for a in articles if a.id is not None])
    mentions = store.campaigns.mentions_for_versions([v.id for v in versions.values() if v.id is not None])
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
                published=_beijing(article.published_at or article.first_seen),
                updated=_beijing(version.fetched_at),
                html=_article_html(article, version, found, names, query.fulltext),
                categories=_categories(catalog, article.source_id, found),
                author=plain_text(version.author or version.source_label or names.get(article.source_id, "")) or None,
                source_id=article.source_id,
            )
        )
    return items


@feed_kind("changes", path="changes", title="procwatch: 修改、删除与恢复")
def change_items(
    store: Store, catalog: SourceCatalog, query: FeedQuery, source_ids: list[str] | None
) -> list[FeedItem]:
    if query.campaign:
        return []
    rows = store.history.events(
        kinds=list(_KIND_LABEL), reported_only=True, limit=query.limit, source_ids=source_ids, query=query.q
    )
    version_ids = [e.version_id for e, _ in rows if e.version_id]
    versions = store.history.versions_by_id(version_ids)
    previous = store.history.previous_versions(version_ids)
    items = []
    for event, article in rows:
        label = _KIND_LABEL[EventKind(event.kind)]
        version = versions.get(event.version_id) if event.version_id else None
        if event.kind == EventKind.edited and version is not None:
            guid = f"{article.url}#procwatch-v{version.version}"
            body = _edit_html(previous.get(version.id), version)
        else:
            guid = f"{article.url}#procwatch-{event.kind}-{event.id}"
            body = f"<p>{label}于 {_beijing(event.at):%Y-%m-%d %H:%M}(北京时间)。{html.escape(event.note or '')}</p>"
        items.append(
            FeedItem(
                guid=guid,
                permalink=False,
                title=f"【{label}】{plain_text(article.title)}",
                link=article.url,
                published=_beijing(event.at),
                updated=_beijing(event.at),
                html=clean_html(body),
                categories=(label, *_categories(catalog, article.source_id, [])),
                source_id=article.source_id,
            )
        )
    return items


def _published(at: datetime | None) -> str:
    """A publication date shown beside the date procwatch saw a name."""
    return f"{_beijing(at):%Y-%m-%d}" if at else "日期不详"


@feed_kind("campaigns", path="campaigns", title="procwatch: 新出现的运动与提法")
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
        body = (
            f"<p><mark>【{html.escape(campaign.name)}】</mark> <strong>新</strong>({kind})首次出现于"
            f"{html.escape(names.get(campaign.first_source_id, campaign.first_source_id))},"
            f"{_beijing(campaign.first_seen_at):%Y-%m-%d %H:%M}(北京时间)首次发现,"
            f"文章发布于 {_published(campaign.first_published_at)}:"
            f'<a href="{html.escape(link)}">{html.escape(first.title if first else link)}</a></p>'
            f"<blockquote>{mark_names(html.escape(campaign.first_context), [campaign.name])}</blockquote>"
            f"<p>已有 {articles} 篇文章提到。</p>"
        )
        items.append(
            FeedItem(
                guid=f"urn:procwatch:campaign:{quote(campaign.name)}",
                permalink=False,
                title=f"【新{kind}】{campaign.name}",
                link=link,
                published=_beijing(campaign.first_seen_at),
                updated=_beijing(campaign.first_seen_at),
                html=clean_html(body),
                categories=(kind, campaign.name),
                source_id=campaign.first_source_id,
            )
        )
    return items


@feed_kind("emerging", path="emerging", title="procwatch: 正在兴起的运动与提法(多个来源新近提到,尚未收录)")
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
            f"<li>{html.escape(names.get(s.source_id, s.source_id))}:{_beijing(s.first_seen_at):%Y-%m-%d %H:%M}"
            f"<blockquote>{mark_names(html.escape(s.context), [campaign.name])}</blockquote></li>"
            for s, _ in row.sources
        )
        body = (
            f"<p><mark>【{html.escape(campaign.name)}】</mark>:{len(row.sources)} 个来源、{row.articles} 篇文章提到,"
            f"尚未收录于词表。首次发现于 {_beijing(campaign.first_seen_at):%Y-%m-%d %H:%M}(北京时间),"
            f"最早的文章发布于 {_published(campaign.first_published_at)}。</p>"
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
                published=_beijing(became),
                updated=_beijing(row.sources[-1][0].first_seen_at),
                html=clean_html(body),
                categories=("兴起", campaign.name),
                source_id=campaign.first_source_id,
            )
        )
    return sorted(items, key=lambda i: i.published, reverse=True)


def _beijing(value: datetime) -> datetime:
    return value.astimezone(BEIJING)


def _categories(
    catalog: SourceCatalog, source_id: str, found: list[tuple[Campaign, CampaignMention]]
) -> tuple[str, ...]:
    tags: list[str] = []
    for source in catalog.sources:
        if source.id == source_id:
            tags = source.all_tags
    return tuple(dict.fromkeys([c.name for c, _ in found] + tags))


def mark_names(escaped_text: str, names: list[str], *, bold: bool = True) -> str:
    """Campaign names in <mark> (longest first), and in <strong> too unless ``bold`` is off: sanitising
    feed readers drop <mark> but keep bold; web pages style <mark> themselves."""
    if not names:
        return escaped_text
    pattern = re.compile("|".join(re.escape(html.escape(n)) for n in sorted(names, key=len, reverse=True)))
    wrap = "<mark><strong>{}</strong></mark>" if bold else "<mark>{}</mark>"
    return pattern.sub(lambda m: wrap.format(m.group(0)), escaped_text)


def _article_html(
    article: Article,
    version: ArticleVersion,
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
    return clean_html("".join(parts))


def _edit_html(previous: ArticleVersion | None, version: ArticleVersion) -> str:
    if previous is None:
        return f"<p>{html.escape(version.body_text[:SUMMARY_CHARS])}</p>"
    old = f"{previous.title}\n{previous.body_text}"[:DIFF_TEXT_CAP]
    new = f"{version.title}\n{version.body_text}"[:DIFF_TEXT_CAP]
    return (
        f"<p>第 {previous.version} 版 → 第 {version.version} 版,改动 {version.change_chars} 字:</p>"
        f"<p>{diff_html(old, new, markers=True)}</p>"
    )
