"""The feed server (Starlette): every feed in RSS and Atom, with validators, filters and discovery.

Nothing is read from disk: feeds are built from the database per request, so no path can reach
outside them. ETag / Last-Modified / 304 spare readers and the database alike.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from feeds.catalog import SourceCatalog, catalog, find, tags
from feeds.items import FeedQuery, items_for
from feeds.render import MEDIA_TYPES, index_html, newest_update, opml, render_feed
from storage import Store
from storage.clock import BEIJING

CACHE_CONTROL = "public, max-age=300"
FILTERS = ("q", "source", "tag", "campaign", "limit", "fulltext")
MAX_PARAMETER = 200  # a filter longer than this is a mistake or an attack, not a query
HealthHook = Callable[[], dict[str, Any]]


FEED_FRESHNESS = 2.0  # seconds a rendered feed is served again: readers poll in minutes, bursts share one build
HEALTH_FRESHNESS = 1.0


class ShortCache:
    """Results kept for a few seconds, built once however many requests ask at the same moment (the
    build runs in a thread). Under 20 concurrent readers the feed is built once per interval instead
    of once per request."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._entries: dict[Any, tuple[float, Any]] = {}
        self._building: dict[Any, asyncio.Future[Any]] = {}

    async def get(self, key: Any, build: Callable[[], Any]) -> Any:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        pending = self._building.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = asyncio.ensure_future(asyncio.to_thread(build))
        self._building[key] = future
        try:
            value = await asyncio.shield(future)
        finally:
            self._building.pop(key, None)
        self._entries[key] = (time.monotonic() + self.seconds, value)
        if len(self._entries) > 1024:  # filters make keys; keep the memory bounded
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
        return value


def _beijing(value: datetime | None) -> str | None:
    return value.astimezone(BEIJING).isoformat() if value else None


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def create_app(
    store: Store, sources: Callable[[], SourceCatalog], *, base_url: str | None = None, health: HealthHook | None = None
) -> Starlette:
    """``sources`` is called per request, so a reloaded sources.yaml takes effect at once."""
    rendered = ShortCache(FEED_FRESHNESS)
    health_cache = ShortCache(HEALTH_FRESHNESS)

    def base(request: Request) -> str:
        """The configured base URL, else the address the server is bound to: never the request's Host
        header, which a client chooses (links in a cached public feed would point wherever it said)."""
        if base_url:
            return base_url.rstrip("/")
        host, port = request.scope.get("server") or ("127.0.0.1", 80)
        host = f"[{host}]" if ":" in host else host
        return f"{request.url.scheme}://{host}:{port}"

    def conditional(request: Request, body: bytes, media_type: str, last_modified: Any = None) -> Response:
        etag = '"' + hashlib.sha1(body).hexdigest()[:24] + '"'
        headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
        if last_modified is not None:
            headers["Last-Modified"] = format_datetime(last_modified.astimezone(UTC), usegmt=True)
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        since = request.headers.get("if-modified-since")
        if since and last_modified is not None and "if-none-match" not in request.headers:
            try:
                if last_modified.replace(microsecond=0) <= parsedate_to_datetime(since):
                    return Response(status_code=304, headers=headers)
            except (TypeError, ValueError):
                pass
        return Response(body, media_type=media_type, headers=headers)

    async def feed(request: Request) -> Response:
        path, extension = request.path_params["path"], request.path_params["ext"]
        current = sources()
        spec = find(current, path)
        if spec is None or extension not in ("xml", "atom"):
            return Response("no such feed\n", status_code=404, media_type="text/plain")
        params = request.query_params
        bad = next((k for k in FILTERS if len(params.get(k, "")) > MAX_PARAMETER or "\x00" in params.get(k, "")), None)
        if bad:
            message = f"{bad}: at most {MAX_PARAMETER} characters, no NUL\n"
            return Response(message, status_code=400, media_type="text/plain")
        tag = params.get("tag")
        tag_sources = tags(current).get(tag, ()) if tag else None
        query = FeedQuery(
            limit=_int(params.get("limit"), 50),
            q=params.get("q") or None,
            source=params.get("source") or None,
            tag_sources=tag_sources,
            campaign=params.get("campaign") or None,
            fulltext=params.get("fulltext") in ("1", "true", "yes"),
        )
        fmt = "rss" if extension == "xml" else "atom"

        def build() -> tuple[bytes, Any]:
            items = items_for(store, current, spec, query)
            return render_feed(spec, items, fmt, base(request)), newest_update(items) if items else None

        body, last_modified = await rendered.get((path, fmt, str(request.url.query), base(request)), build)
        return conditional(request, body, MEDIA_TYPES[fmt], last_modified)

    async def index(request: Request) -> Response:
        return conditional(request, index_html(catalog(sources()), base(request)), "text/html; charset=utf-8")

    async def outline(request: Request) -> Response:
        return conditional(request, opml(catalog(sources()), base(request)), "text/x-opml; charset=utf-8")

    def stored_health() -> dict[str, Any]:
        """Without a daemon in this process: what the database says of each configured source."""
        states = store.source_states()
        by_source = {
            source.id: {
                "last_success": _beijing(states[source.id].last_success) if source.id in states else None,
                "consecutive_failures": states[source.id].consecutive_failures if source.id in states else 0,
                "last_error": states[source.id].last_error if source.id in states else None,
            }
            for source in sources().sources
        }
        failing = sum(1 for s in by_source.values() if s["consecutive_failures"])
        return {"status": "failing" if failing else "ok", "sources": by_source, "failing_sources": failing}

    async def healthz(request: Request) -> Response:
        return JSONResponse(await health_cache.get("health", health or stored_health))

    return Starlette(
        routes=[
            Route("/", index),
            Route("/feeds.opml", outline),
            Route("/healthz", healthz),
            Route("/{path:path}.{ext:str}", feed),
        ]
    )
