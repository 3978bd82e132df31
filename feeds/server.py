"""The feed server (Starlette): every feed in RSS and Atom, with validators, filters and discovery.

Nothing is read from disk: feeds are built from the database per request, so no path can reach
outside them. ETag / Last-Modified / 304 spare readers and the database alike.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from feeds.catalog import SourceCatalog, catalog, find
from feeds.errors import FilterError
from feeds.filters import parse_filters
from feeds.headers import SecurityHeaders
from feeds.items import items_for
from feeds.render import MEDIA_TYPES, STYLESHEET_NAME, feed_as_page, newest_update, opml, render_feed, stylesheet
from feeds.web.pages import WebView
from storage import Store
from storage.sources import health_report

CACHE_CONTROL = "public, max-age=300"
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


class FeedFormat(Convertor[str]):
    """``.xml`` (RSS) or ``.atom``: any other extension is left to the pages (``/sources.json``)."""

    regex = "xml|atom"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("feedformat", FeedFormat())


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
        if spec is None:
            return Response("no such feed (see /feeds)\n", status_code=404, media_type="text/plain")
        try:
            filters = await asyncio.to_thread(parse_filters, request.query_params, current, store.browse.has_campaign)
        except FilterError as exc:
            return Response(f"{exc}\n", status_code=400, media_type="text/plain; charset=utf-8")
        query = filters.feed_query()
        fmt = "rss" if extension == "xml" else "atom"

        def build() -> tuple[bytes, Any]:
            items = items_for(store, current, spec, query)
            return render_feed(spec, items, fmt, base(request)), newest_update(items) if items else None

        # a person opening the feed in a browser tab gets it as a page; readers never send this header
        as_page = request.headers.get("sec-fetch-dest") == "document"

        def build_page() -> tuple[bytes, Any]:
            body, last_modified = build()
            return feed_as_page(body), last_modified

        key = (path, fmt, str(request.url.query), base(request), as_page)
        body, last_modified = await rendered.get(key, build_page if as_page else build)
        response = conditional(
            request, body, "text/html; charset=utf-8" if as_page else MEDIA_TYPES[fmt], last_modified
        )
        response.headers["Vary"] = "Sec-Fetch-Dest"
        return response

    async def xsl(request: Request) -> Response:
        return conditional(request, stylesheet(), "text/xsl; charset=utf-8")

    async def favicon(request: Request) -> Response:  # browsers ask on every page; a 404 is a console error
        return Response(status_code=204, headers={"Cache-Control": "public, max-age=86400"})

    async def outline(request: Request) -> Response:
        return conditional(request, opml(catalog(sources()), base(request)), "text/x-opml; charset=utf-8")

    def stored_health() -> dict[str, Any]:
        """Without a daemon in this process: what the database says of each configured source."""
        return health_report(
            store.sources.source_states(),
            [source.id for source in sources().sources],
            destinations=store.outbox.destinations(),
        )

    async def healthz(request: Request) -> Response:
        return JSONResponse(await health_cache.get("health", health or stored_health))

    web = WebView(store, sources, health or stored_health)
    return Starlette(
        routes=[
            Route("/feeds.opml", outline),
            Route(f"/{STYLESHEET_NAME}", xsl),
            Route("/favicon.ico", favicon),
            Route("/healthz", healthz),
            Route("/{path:path}.{ext:feedformat}", feed),
            *web.routes(),
        ],
        middleware=[Middleware(SecurityHeaders)],
    )
