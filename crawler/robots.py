"""robots.txt, parsed by Protego and cached per site."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

from protego import Protego

from crawler.access import Access

ROBOTS_TTL = 24 * 3600.0
ROBOTS_RETRY = 3600.0


class RobotsCache:
    """Answers 'may this user agent fetch this URL', fetching each site's robots.txt at most once a day.

    A missing robots.txt (4xx) allows everything. When it cannot be fetched (5xx, network) the
    site is allowed for now and asked again in an hour: a flaky robots.txt on a government server
    should not silence the source.
    """

    def __init__(self, fetch_text: Callable[[str, Access], Awaitable[tuple[int, str]]]):
        self._fetch_text = fetch_text
        self._cache: dict[str, tuple[float, Protego | None]] = {}

    @staticmethod
    def robots_url(url: str) -> str:
        parts = urlsplit(url)
        return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))

    async def allowed(self, url: str, user_agent: str, access: Access) -> bool:
        key = self.robots_url(url)
        cached = self._cache.get(key)
        if cached is None or cached[0] < time.monotonic():
            cached = await self._load(key, access)
            self._cache[key] = cached
        rules = cached[1]
        return True if rules is None else rules.can_fetch(url, user_agent)

    async def _load(self, robots_url: str, access: Access) -> tuple[float, Protego | None]:
        try:
            status, text = await self._fetch_text(robots_url, access)
        except Exception:
            return time.monotonic() + ROBOTS_RETRY, None
        if 200 <= status < 300:
            return time.monotonic() + ROBOTS_TTL, Protego.parse(text)
        if 400 <= status < 500:
            return time.monotonic() + ROBOTS_TTL, None
        return time.monotonic() + ROBOTS_RETRY, None
