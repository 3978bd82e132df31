"""The read-only web view: overview, sources, article search, an article's history, campaigns.

Each page is one function from the request to a JSON-able context; the same context is rendered by a
Jinja2 template or returned as JSON (``.json`` or ``Accept: application/json``), so the two never
disagree. Links are relative: nothing on a page depends on the Host header a client sent.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from feeds.catalog import SourceCatalog, catalog, tags
from feeds.diff import diff_html, diff_sides
from feeds.errors import FilterError, NotFound
from feeds.filters import MAX_ID, Filters, parse_filters, whole_number
from feeds.items import mark_names
from feeds.web.charts import sparkline, spread_timeline, weekly_bars
from storage import Store
from storage.captures import StoredCapture
from storage.clock import BEIJING, utcnow
from storage.kinds import EventKind
from storage.models import Article, ArticleVersion, Campaign

SPARK_DAYS = 30
COUNTS_FRESHNESS = 60.0
RECENT = 20
PAGE = 50
# a captured page, shown as served: in a sandbox without scripts, and allowed to fetch nothing at all
CAPTURE_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:;"
    " frame-ancestors 'self'",
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, max-age=3600",
}
Status = Callable[[], Mapping[str, Any]]  # /healthz's answer: per-source state, and next runs with a daemon

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(value: str | None) -> str:
    """An ISO time in Beijing time as people read it: 2026-11-24 09:30."""
    return value[:16].replace("T", " ") if value else "—"


_templates.filters["when"] = _when
_templates.globals["quote"] = lambda value: quote(str(value), safe="")


def iso(value: datetime | None) -> str | None:
    return value.astimezone(BEIJING).isoformat(timespec="seconds") if value else None


def _article(article: Article, names: Mapping[str, str]) -> dict[str, Any]:
    return {
        "id": article.id,
        "url": article.url,
        "title": article.title,
        "source": article.source_id,
        "source_name": names.get(article.source_id, article.source_id),
        "published": iso(article.published_at),
        "first_seen": iso(article.first_seen),
        "status": str(article.status),
        "versions": article.version_count,
        "page": f"/articles/{article.id}",
    }


def _campaign(campaign: Campaign, articles: int, names: Mapping[str, str]) -> dict[str, Any]:
    return {
        "name": campaign.name,
        "kind": str(campaign.kind),
        "first_seen": iso(campaign.first_seen_at),
        "first_published": iso(campaign.first_published_at),
        "known": campaign.baseline,
        "first_source": campaign.first_source_id,
        "first_source_name": names.get(campaign.first_source_id, campaign.first_source_id),
        "first_article": f"/articles/{campaign.first_article_id}",
        "context": campaign.first_context,
        "articles": articles,
        "status": campaign.status,
        "page": _campaign_page(campaign.name),
    }


def _campaign_page(name: str) -> str:
    return f"/campaigns/{quote(name, safe='')}"


def marked_paragraphs(text: str, names: list[str]) -> list[Markup]:
    """The text's paragraphs, escaped, with each campaign name in <mark>."""
    return [Markup(mark_names(html.escape(line), names, bold=False)) for line in text.split("\n")]


@dataclass(frozen=True)
class Page:
    template: str
    context: dict[str, Any]
    feeds: list[tuple[str, str]]  # (title, href) for <link rel="alternate">


class WebView:
    """The pages over one store; ``sources`` and ``status`` are called per request (reloads show at once)."""

    def __init__(self, store: Store, sources: Callable[[], SourceCatalog], status: Status):
        self.store = store
        self.sources = sources
        self.status = status
        self._counted: tuple[float, dict[str, int]] | None = None

    def _counts(self) -> dict[str, int]:
        """Articles per source, counted at most every COUNTS_FRESHNESS seconds: on a million articles the
        count reads the whole index (about 50 ms on SQLite), and a total a minute old is still true
        enough for a list of sources."""
        now = time.monotonic()
        if self._counted is None or self._counted[0] < now:
            self._counted = (now + COUNTS_FRESHNESS, self.store.browse.articles_per_source())
        return self._counted[1]

    def _names(self) -> dict[str, str]:
        return {s.id: s.name for s in self.sources().sources}

    def _filters(self, params: Mapping[str, str]) -> Filters:
        return parse_filters(params, self.sources(), self.store.browse.has_campaign, default_limit=PAGE)

    # -- pages -------------------------------------------------------------------------------------

    def overview(self, params: Mapping[str, str]) -> Page:
        names, now = self._names(), utcnow()
        midnight = now.astimezone(BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
        today = self.store.browse.search_articles(limit=RECENT, since=midnight)
        changes = self.store.history.events(
            kinds=[EventKind.edited, EventKind.removed, EventKind.restored], reported_only=True, limit=RECENT
        )
        status = self.status()
        failing = [
            {"id": source_id, "name": names.get(source_id, source_id), **state}
            for source_id, state in status.get("sources", {}).items()
            if state.get("consecutive_failures")
        ]
        context = {
            "now": iso(now),
            "status": status.get("status"),
            "database_error": status.get("database_error"),
            "found_today": self.store.browse.count_found_since(midnight),
            "today": [_article(a, names) for a in today.articles],
            "changes": [
                {"kind": str(e.kind), "at": iso(e.at), "note": e.note, "article": _article(a, names)}
                for e, a in changes
            ],
            "new_campaigns": [
                _campaign(c, n, names) for c, n in self.store.browse.campaign_page(limit=10, new_only=True)
            ],
            "failing": failing,
            "sources": len(names),
            # notification destinations that do not take messages: a dead mail server is shown, not hidden
            "failing_destinations": [
                {"name": name, **entry}
                for name, entry in status.get("notifications", {}).items()
                if entry.get("status") == "failing"
            ],
        }
        return Page("overview.html", context, [("全部来源", "/all.xml"), ("修改、删除与恢复", "/changes.xml")])

    def source_list(self, params: Mapping[str, str]) -> Page:
        current = self.sources()
        status = self.status().get("sources", {})
        counts = self._counts()
        daily = self.store.browse.daily_counts(days=SPARK_DAYS, now=utcnow())
        rows = [self._source_row(s, status.get(s.id), counts.get(s.id, 0), daily.get(s.id)) for s in current.sources]
        return Page("sources.html", {"sources": rows, "days": SPARK_DAYS}, [("全部来源", "/all.xml")])

    def _source_row(self, source: Any, state: Mapping[str, Any] | None, count: int, days: list[int] | None) -> dict:
        state = state or {}
        failures = state.get("consecutive_failures", 0)
        if state.get("last_checked") is None and state.get("last_success") is None and not failures:
            verdict = "never run"
        else:
            verdict = state["status"]  # the health's own verdict (storage.sources.source_verdict)
        return {
            "id": source.id,
            "name": source.name,
            "region": getattr(source, "region", None),
            "tags": list(source.all_tags),
            "status": verdict,
            "last_success": state.get("last_success"),
            "last_checked": state.get("last_checked"),
            "last_error": state.get("last_error"),
            "consecutive_failures": failures,
            "next_run": state.get("next_run"),
            "articles": count,
            "per_day": days or [0] * SPARK_DAYS,
            "page": f"/sources/{quote(source.id, safe='')}",
            "feed": f"/sources/{quote(source.id, safe='')}.xml",
        }

    def source(self, source_id: str, params: Mapping[str, str]) -> Page:
        current = next((s for s in self.sources().sources if s.id == source_id), None)
        if current is None:
            raise NotFound(f"no configured source {source_id!r}")
        filters = self._filters(params)
        state = self.status().get("sources", {}).get(source_id)
        count = self.store.browse.articles_per_source(source_id).get(source_id, 0)
        daily = self.store.browse.daily_counts(days=SPARK_DAYS, now=utcnow(), source_id=source_id).get(source_id)
        page = self.store.browse.search_articles(limit=filters.limit, after=filters.after, source_ids=[source_id])
        names = self._names()
        row = self._source_row(current, state, count, daily)
        context = {
            "source": row,
            "articles": [_article(a, names) for a in page.articles],
            "next": _next_link(f"/sources/{quote(source_id, safe='')}", params, page.next_cursor),
            "days": SPARK_DAYS,
        }
        return Page("source.html", context, [(current.name, row["feed"])])

    def articles(self, params: Mapping[str, str]) -> Page:
        filters = self._filters(params)
        if filters.q:
            return self._search(filters, params)
        page = self.store.browse.search_articles(
            limit=filters.limit,
            after=filters.after,
            source_ids=filters.source_ids,
            campaign=filters.campaign,
            since=filters.since,
        )
        names = self._names()
        feed_params = {k: v for k, v in params.items() if k in ("q", "source", "tag", "campaign") and v}
        context = {
            "filters": {k: params.get(k, "") for k in ("q", "source", "tag", "campaign", "since")},
            "articles": [_article(a, names) for a in page.articles],
            "next": _next_link("/articles", params, page.next_cursor),
            "choices": {"sources": sorted(names.items()), "tags": list(tags(self.sources()))},
        }
        feed = "/all.xml" + ("?" + urlencode(feed_params) if feed_params else "")
        return Page("articles.html", context, [("这些文章", feed)])

    def _search(self, filters: Filters, params: Mapping[str, str]) -> Page:
        """Every version's title and body, in the search language (storage.search_terms)."""
        assert filters.q is not None
        query = filters.q + (f" since:{filters.since.astimezone(BEIJING):%Y-%m-%d}" if filters.since else "")
        found = self.store.search.search(
            query, limit=filters.limit, before=filters.after, source_ids=filters.source_ids
        )
        hits = found.hits
        if filters.campaign:
            mentioning = self.store.browse.articles_mentioning(filters.campaign, [h.article.id for h in hits])
            hits = [h for h in hits if h.article.id in mentioning]
        names = self._names()
        rows = []
        for hit in hits:
            row = _article(hit.article, names)
            row["snippet"] = list(hit.snippet) if hit.snippet else None
            row["found_in"] = hit.versions_label if not hit.current else None  # text an edit removed
            row["found_versions"] = hit.matching
            rows.append(row)
        feed_params = {k: v for k, v in params.items() if k in ("q", "source", "tag", "campaign") and v}
        context = {
            "filters": {k: params.get(k, "") for k in ("q", "source", "tag", "campaign", "since")},
            "articles": rows,
            "next": _next_link("/articles", params, found.next_cursor),
            "choices": {"sources": sorted(names.items()), "tags": list(tags(self.sources()))},
        }
        return Page("articles.html", context, [("这些文章", "/all.xml?" + urlencode(feed_params))])

    def article(self, article_id: int, params: Mapping[str, str]) -> Page:
        if article_id > MAX_ID:  # no database holds such an id (and SQLite would overflow asking)
            raise NotFound(f"no article {article_id}")
        history = self.store.browse.article_history(article_id)
        if history is None:
            raise NotFound(f"no article {article_id}")
        names = self._names()
        article, versions = history.article, history.versions
        by_number = {v.version: v for v in versions}
        current = by_number.get(article.current_version) or (versions[-1] if versions else None)
        found = history.mentions.get(current.id, []) if current else []
        campaign_names = [c.name for c, _ in found]
        old_n, new_n = whole_number(params.get("from")), whole_number(params.get("to"))
        if new_n not in by_number:
            new_n = current.version if current else None
        if old_n not in by_number:
            old_n = (new_n - 1) if new_n and (new_n - 1) in by_number else None
        view = "side" if params.get("view") == "side" else "inline"
        diff: dict[str, Any] | None = None
        if old_n is not None and new_n is not None and old_n != new_n:
            old_v, new_v = by_number[old_n], by_number[new_n]
            old_text, new_text = _full(old_v), _full(new_v)
            left, right = diff_sides(old_text, new_text)
            diff = {
                "from": old_n,
                "to": new_n,
                "view": view,
                "html_inline": Markup(diff_html(old_text, new_text)),
                "html_left": Markup(left),
                "html_right": Markup(right),
                "changed": old_text != new_text,
            }
        version_captures, event_captures = self.store.evidence.ids_for(
            [v.id for v in versions], [e.id for e in history.events]
        )
        context = {
            "article": _article(article, names),
            "current": {**_version(current), "text": current.body_text} if current else None,
            "html_paragraphs": marked_paragraphs(current.body_text, campaign_names) if current else [],
            "campaigns": [
                {
                    "name": c.name,
                    "new": c.first_article_id == article.id and not c.baseline,
                    "page": _campaign_page(c.name),
                }
                for c, _ in found
            ],
            "versions": [{**_version(v), "capture": _capture_page(version_captures.get(v.id))} for v in versions],
            "events": [
                {
                    "kind": str(e.kind),
                    "at": iso(e.at),
                    "note": e.note,
                    "capture": _capture_page(event_captures.get(e.id)),
                }
                for e in history.events
            ],
            "republications": [
                {
                    "url": r.url,
                    "source": r.source_id,
                    "source_name": names.get(r.source_id, r.source_id),
                    "similarity": round(r.similarity, 3),
                    "first_seen": iso(r.first_seen),
                    "title": r.title,
                }
                for r in history.republications
            ],
            "original": _article(history.original, names) if history.original else None,
            "diff": diff,
        }
        feed = f"/sources/{quote(article.source_id, safe='')}.xml"
        return Page("article.html", context, [(names.get(article.source_id, article.source_id), feed)])

    def capture(self, capture_id: int, params: Mapping[str, str]) -> Page:
        """A capture: the answer as the portal served it (headers, digest, the page in a sandboxed frame
        that runs no script and fetches nothing), and its WARC record to download."""
        capture = self._stored_capture(capture_id)
        warc, status, headers, _payload = self.store.evidence.payload(capture)
        found = self.store.history.get_article(capture.url)
        context = {
            "id": capture.id,
            "url": capture.url,
            "fetched": iso(capture.fetched_at),
            "status": status,
            "digest": capture.ref.digest,
            "record_id": capture.ref.record_id,
            "revisit": capture.ref.revisit,
            "file": capture.ref.file,
            "offset": capture.ref.offset,
            "warc_date": warc.get("WARC-Date"),
            "headers": [{"name": name, "value": value} for name, value in headers],
            "version_id": capture.version_id,
            "event_id": capture.event_id,
            "article": f"/articles/{found.article.id}" if found is not None else None,
            "page": f"/captures/{capture.id}/page",
            "record": f"/captures/{capture.id}.warc.gz",
        }
        return Page("capture.html", context, [])

    def capture_page(self, request: Request) -> Response:
        """The captured body, served so that it can do nothing: a sandbox without scripts, and no
        request allowed anywhere (the portal's images, styles and scripts are not fetched)."""
        capture = self._stored_capture(int(request.path_params["capture_id"]))
        _warc, _status, headers, payload = self.store.evidence.payload(capture)
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "text/html")
        return Response(payload, media_type=content_type, headers=CAPTURE_HEADERS)

    def capture_record(self, request: Request) -> Response:
        capture = self._stored_capture(int(request.path_params["capture_id"]))
        name = f"procwatch-capture-{capture.id}.warc.gz"
        return Response(
            self.store.evidence.files.record_bytes(capture.ref),
            media_type="application/warc",
            headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff"},
        )

    def _stored_capture(self, capture_id: int) -> StoredCapture:
        capture = self.store.evidence.get(capture_id) if capture_id <= MAX_ID else None
        if capture is None:
            raise NotFound(f"no capture {capture_id}")
        return capture

    def campaigns(self, params: Mapping[str, str]) -> Page:
        filters = self._filters(params)
        names = self._names()
        rows = self.store.browse.campaign_page(limit=filters.limit + 1, after=filters.after)
        more = len(rows) > filters.limit
        rows = rows[: filters.limit]
        context = {
            "campaigns": [_campaign(c, n, names) for c, n in rows],
            "next": _next_link("/campaigns", params, rows[-1][0].id if more and rows else None),
        }
        return Page("campaigns.html", context, [("新出现的运动与提法", "/campaigns.xml")])

    def campaign(self, name: str, params: Mapping[str, str]) -> Page:
        timeline = self.store.browse.campaign_timeline(name)
        if timeline is None:
            raise NotFound(f"no campaign or formulation named {name!r}")
        current = self.sources()
        names = {s.id: s.name for s in current.sources}
        regions = {s.id: getattr(s, "region", None) for s in current.sources}
        first = timeline.campaign.first_seen_at
        spread: list[dict[str, Any]] = [
            {
                "source": row.source_id,
                "source_name": names.get(row.source_id, row.source_id),
                "region": regions.get(row.source_id),
                "first_seen": iso(row.first_seen_at),
                "first_published": iso(row.first_published_at),
                "days_after": round((row.first_seen_at - first) / timedelta(days=1), 2),
                "article": _article(article, names) if article else None,
                "context": row.context,
            }
            for row, article in timeline.sources
        ]
        provinces: dict[str, dict[str, Any]] = {}
        for entry in spread:  # time order: the first entry per region is its first mention
            if entry["region"] and entry["region"] not in provinces:
                provinces[entry["region"]] = {"region": entry["region"], **entry}
        weeks = _every_week(timeline.weeks)
        context = {
            "campaign": _campaign(timeline.campaign, timeline.articles, names),
            "spread": spread,
            "provinces": list(provinces.values()),
            "weeks": weeks,
            "html_charts": {
                "spread": spread_timeline([(e["source_name"], e["days_after"]) for e in spread]),
                "weeks": weekly_bars([(w["week"], w["articles"]) for w in weeks]),
            },
        }
        feed = "/all.xml?" + urlencode({"campaign": timeline.campaign.name})
        return Page("campaign.html", context, [(f"提到{timeline.campaign.name}的文章", feed)])

    def feed_list(self, params: Mapping[str, str]) -> Page:
        specs = catalog(self.sources())
        feeds = [{"title": s.title, "path": s.path, "rss": f"/{s.path}.xml", "atom": f"/{s.path}.atom"} for s in specs]
        return Page("feeds.html", {"feeds": feeds}, [(s.title, f"/{s.path}.xml") for s in specs])

    # -- routing -----------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        def page(build: Callable[..., Page], *names: str) -> Callable[[Request], Any]:
            async def endpoint(request: Request) -> Response:
                args = [request.path_params[n] for n in names]
                as_json = request.url.path.endswith(".json")
                if as_json and args and isinstance(args[-1], str):
                    args[-1] = args[-1].removesuffix(".json")
                accept = request.headers.get("accept", "")
                as_json = as_json or ("application/json" in accept and "text/html" not in accept)
                return await _respond(build, args, request, as_json)

            return endpoint

        def raw(build: Callable[[Request], Response]) -> Callable[[Request], Any]:
            async def endpoint(request: Request) -> Response:
                try:
                    return await asyncio.to_thread(build, request)
                except NotFound as exc:
                    return Response(f"{exc}\n", status_code=404, media_type="text/plain; charset=utf-8")

            return endpoint

        return [
            Route("/", page(self.overview)),
            Route("/index.json", page(self.overview)),
            Route("/sources", page(self.source_list)),
            Route("/sources.json", page(self.source_list)),
            Route("/sources/{source_id}", page(self.source, "source_id")),
            Route("/articles", page(self.articles)),
            Route("/articles.json", page(self.articles)),
            Route("/articles/{article_id:int}", page(self.article, "article_id")),
            Route("/articles/{article_id:int}.json", page(self.article, "article_id")),
            Route("/campaigns", page(self.campaigns)),
            Route("/campaigns.json", page(self.campaigns)),
            Route("/campaigns/{name}", page(self.campaign, "name")),
            Route("/feeds", page(self.feed_list)),
            Route("/feeds.json", page(self.feed_list)),
            Route("/captures/{capture_id:int}", page(self.capture, "capture_id")),
            Route("/captures/{capture_id:int}.json", page(self.capture, "capture_id")),
            Route("/captures/{capture_id:int}/page", raw(self.capture_page)),
            Route("/captures/{capture_id:int}.warc.gz", raw(self.capture_record)),
        ]


async def _respond(build: Callable[..., Page], args: list[Any], request: Request, as_json: bool) -> Response:
    params = dict(request.query_params)
    try:
        result = await asyncio.to_thread(build, *args, params)
    except FilterError as exc:
        return Response(f"{exc}\n", status_code=400, media_type="text/plain; charset=utf-8")
    except NotFound as exc:
        return Response(f"{exc}\n", status_code=404, media_type="text/plain; charset=utf-8")
    if as_json:
        return JSONResponse(_jsonable(result.context))
    path = request.url.path
    json_href = ("/index" if path == "/" else path) + ".json" + (f"?{request.url.query}" if request.url.query else "")
    body = _templates.get_template(result.template).render(
        **result.context, alternates=result.feeds, path=path, json_href=json_href, spark=sparkline
    )
    return HTMLResponse(body)


def _jsonable(value: Any) -> Any:
    """The context without its ``html_`` keys: rendered HTML belongs to the page, JSON carries the data
    it was drawn from."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if not k.startswith("html_")}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _every_week(counts: list[tuple[datetime, int]]) -> list[dict[str, Any]]:
    """Weekly counts with the quiet weeks in between, so the chart's axis is time."""
    if not counts:
        return []
    by_week = dict(counts)
    week, last, out = counts[0][0], counts[-1][0], []
    while week <= last:
        out.append({"week": week.date().isoformat(), "articles": by_week.get(week, 0)})
        week += timedelta(days=7)  # Beijing time has no daylight saving
    return out


def _capture_page(capture_id: int | None) -> str | None:
    return f"/captures/{capture_id}" if capture_id is not None else None


def _full(version: ArticleVersion) -> str:
    return f"{version.title}\n{version.body_text}"


def _version(version: ArticleVersion) -> dict[str, Any]:
    return {
        "version": version.version,
        "title": version.title,
        "fetched": iso(version.fetched_at),
        "published": iso(version.published_at),
        "source_label": version.source_label,
        "author": version.author,
        "hash": version.content_hash[:12],
        "change_chars": version.change_chars,
        "status": version.status,
        "length": len(version.body_text),
    }


def _next_link(path: str, params: Mapping[str, str], cursor: int | None) -> str | None:
    if cursor is None:
        return None
    kept = {k: v for k, v in params.items() if k != "after" and v}
    return f"{path}?{urlencode({**kept, 'after': cursor})}"
