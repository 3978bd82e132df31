"""How one source may be reached: TLS checks, robots.txt, private addresses, the proxy and the
browser, decided once from sources.yaml and handed with every request to :class:`crawler.fetch.Fetcher`."""

from __future__ import annotations

from dataclasses import dataclass

from crawler.config import DIRECT, FetchMode, Settings, Source


@dataclass(frozen=True)
class Access:
    verify_tls: bool = True
    robots: bool = True
    allow_private: bool = False  # may connect to loopback, private and link-local addresses
    proxy: str | None = None  # as written (``${VAR}`` unexpanded); None: connect directly
    mode: FetchMode = FetchMode.plain

    @classmethod
    def of(cls, source: Source, settings: Settings) -> Access:
        proxy = source.proxy or settings.proxy
        return cls(
            verify_tls=source.verify_tls,
            robots=source.robots,
            allow_private=source.allow_private,
            proxy=None if proxy == DIRECT else proxy,
            mode=source.fetch,
        )

    @classmethod
    def typed(cls, settings: Settings) -> Access:
        """For a URL the user typed on the command line: theirs to reach, through the settings' proxy."""
        return cls(allow_private=True, proxy=None if settings.proxy in (None, DIRECT) else settings.proxy)
