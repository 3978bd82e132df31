"""HTTP fetching: polite, bounded, retried, conditional.

One :class:`Fetcher` per process wraps ``httpx.AsyncClient`` s (one per host) and enforces:

* one request at a time per host, with a minimum delay between them, under a global limit;
* retries with capped exponential backoff and jitter on timeouts, connection errors, 429 and 5xx,
  honouring ``Retry-After``;
* conditional GET from stored validators (a 304 carries no body);
* a size cap on the decoded body (so a gzip bomb stops at the cap) and a total deadline per
  request (so a slowloris body cannot hold a worker forever);
* robots.txt, unless a source opts out;
* anti-bot challenges raised as :class:`Blocked`, never retried.
"""

from __future__ import annotations

import asyncio
import errno
import random
import socket
import ssl
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

import httpcore
import httpx

from crawler.addresses import PublicOnlyBackend, is_public, with_network_backend
from crawler.blocked import blocked_reason
from crawler.config import Settings
from crawler.decode import Decoded, decode_html
from crawler.encodings import ACCEPTED, BoundedDecoder
from crawler.errors import (
    AddressRefused,
    Blocked,
    EncodingError,
    HttpStatusError,
    OverBudget,
    RobotsDisallowed,
    TlsError,
    TooLarge,
    TransportError,
)
from crawler.robots import RobotsCache

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 522, 524})
FINAL_STATUSES = frozenset({404, 410})
MAX_HOST_CLIENTS = 256  # clients kept open; a host beyond them gets a new one (its connection would have expired)


@dataclass
class Response:
    """A completed fetch. ``status`` is 2xx, 304, 404 or 410; anything else raised."""

    url: str
    requested_url: str
    status: int
    headers: dict[str, str]
    content: bytes
    elapsed: float
    attempts: int = 1
    _decoded: Decoded | None = field(default=None, repr=False)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def gone(self) -> bool:
        return self.status in FINAL_STATUSES

    def decode(self, configured: str | None = None) -> Decoded:
        if self._decoded is None:
            self._decoded = decode_html(self.content, self.headers.get("content-type"), configured)
        return self._decoded

    @property
    def text(self) -> str:
        return self.decode().text


@dataclass(frozen=True)
class Conditional:
    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        out = {}
        if self.etag:
            out["If-None-Match"] = self.etag
        if self.last_modified:
            out["If-Modified-Since"] = self.last_modified
        return out


_DEFAULTS = Settings()  # one set of defaults: sources.yaml's
# A connection that will not be different in a second (refused, unknown name, no route): fail fast; a
# source that is down is tried again at its next run, with the back-off.
_FINAL_CONNECT = (ConnectionRefusedError, socket.gaierror)
_FINAL_ERRNOS = frozenset({errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH})


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it was raised from (httpx wraps httpcore, which wraps the OS or TLS error):
    errors are classed by type, never by the words of their message."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


class Fetcher:
    """Polite HTTP GETs for the whole crawler. Use as an async context manager."""

    def __init__(
        self,
        *,
        user_agent: str = _DEFAULTS.user_agent,
        concurrency: int = _DEFAULTS.concurrency,
        min_delay: float = _DEFAULTS.min_delay.total_seconds(),
        timeout: float = _DEFAULTS.timeout.total_seconds(),
        deadline: float | None = None,
        max_bytes: int = _DEFAULTS.max_bytes,
        max_redirects: int = _DEFAULTS.max_redirects,
        retries: int = _DEFAULTS.retries,
        retry_base: float = 1.0,
        retry_cap: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        address_policy: Callable[[str], bool] = is_public,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
    ):
        self.user_agent = user_agent
        self.min_delay = min_delay
        self.deadline = deadline if deadline is not None else timeout * 3
        self.max_bytes = max_bytes
        self.retries = retries
        self.retry_base, self.retry_cap = retry_base, retry_cap
        self._global = asyncio.Semaphore(concurrency)
        self._host_locks: dict[str, asyncio.Lock] = {}
        self._host_last: dict[str, float] = {}
        # One client (and connection pool) per host, the least recently used closed beyond a bound:
        # httpcore's pool scans all its connections, with a readability syscall each, for every
        # request, so one pool for hundreds of hosts spent more time there than fetching.
        self._clients: OrderedDict[tuple[str, bool, bool], httpx.AsyncClient] = OrderedDict()
        self._in_use: Counter[tuple[str, bool, bool]] = Counter()
        self._closing: set[asyncio.Task[None]] = set()
        self._tls: dict[bool, ssl.SSLContext] = {}  # one per mode: loading the CA bundle costs ~10 ms
        self._client_options = {
            "timeout": httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            "follow_redirects": True,
            "max_redirects": max_redirects,
            "headers": {
                "User-Agent": user_agent,
                "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5",
                "Accept-Encoding": ACCEPTED,
            },
            "transport": transport,
        }
        self.robots = RobotsCache(self._fetch_robots)
        self._address_policy = address_policy  # which addresses count as public (tests stand in for the internet)
        self._network_backend = network_backend  # benchmarks: every host name to one local server
        self.requests_sent = 0

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> Fetcher:
        options: dict[str, object] = {
            "user_agent": settings.user_agent,
            "concurrency": settings.concurrency,
            "min_delay": settings.min_delay.total_seconds(),
            "timeout": settings.timeout.total_seconds(),
            "max_bytes": settings.max_bytes,
            "max_redirects": settings.max_redirects,
            "retries": settings.retries,
        }
        options.update(overrides)
        return cls(**options)  # type: ignore[arg-type]

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object | TracebackType) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
        if self._closing:
            await asyncio.gather(*self._closing)

    def _client(self, host: str, verify: bool, allow_private: bool) -> tuple[str, bool, bool]:
        """The key of the client for ``host`` (made on first use); an injected transport serves every host."""
        key = ("" if self._client_options["transport"] is not None else host, verify, allow_private)
        if key in self._clients:
            self._clients.move_to_end(key)
            return key
        options = dict(self._client_options)
        if options["transport"] is None:
            if verify not in self._tls:
                self._tls[verify] = httpx.create_ssl_context(verify=verify)
            # the host's requests come one at a time (Fetcher.get holds its lock); redirects may add a few
            transport = httpx.AsyncHTTPTransport(
                verify=self._tls[verify], limits=httpx.Limits(max_connections=4, max_keepalive_connections=1)
            )
            backend = self._network_backend
            if backend is None and not allow_private:
                backend = PublicOnlyBackend(self._address_policy)
            if backend is not None:
                with_network_backend(transport, backend)
            options["transport"] = transport
        self._clients[key] = httpx.AsyncClient(verify=self._tls.get(verify, verify), **options)  # type: ignore[arg-type]
        self._close_idle_clients()
        return key

    def _close_idle_clients(self) -> None:
        excess = len(self._clients) - MAX_HOST_CLIENTS
        for key in list(self._clients):
            if excess <= 0:
                break
            if self._in_use[key]:  # a request is under way on it
                continue
            task = asyncio.create_task(self._clients.pop(key).aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
            excess -= 1

    async def get(
        self,
        url: str,
        *,
        conditional: Conditional | None = None,
        verify_tls: bool = True,
        obey_robots: bool = True,
        allow_private: bool = False,
    ) -> Response:
        """GET ``url`` politely. Raises a :class:`FetchError` subclass when no usable answer came.
        Only public addresses are connected to (every redirect hop too) unless ``allow_private``."""
        host = urlsplit(url).netloc.lower()
        lock = self._host_locks.setdefault(host, asyncio.Lock())
        async with lock:
            if obey_robots and not await self.robots.allowed(url, self.user_agent, allow_private=allow_private):
                raise RobotsDisallowed(url, "disallowed by robots.txt (set 'robots: false' to override)")
            headers = conditional.headers() if conditional else {}
            attempt = 0
            while True:
                attempt += 1
                try:
                    response = await self._polite_once(host, url, headers, verify_tls, allow_private)
                except (TransportError, TooLarge) as exc:
                    if isinstance(exc, TooLarge) or attempt > self.retries or not exc.retryable:
                        raise
                    await asyncio.sleep(self._backoff(attempt, None))
                    continue
                response.attempts = attempt
                if response.status in RETRY_STATUSES:
                    if attempt > self.retries:
                        raise HttpStatusError(
                            url, f"HTTP {response.status} after {attempt} attempts", status=response.status
                        )
                    await asyncio.sleep(self._backoff(attempt, response.headers.get("retry-after")))
                    continue
                return self._check(response)

    def _check(self, response: Response) -> Response:
        reason = blocked_reason(response.status, response.content, response.headers)
        if reason:
            raise Blocked(response.url, reason, status=response.status)
        if 200 <= response.status < 300 or response.status == 304 or response.gone:
            return response
        raise HttpStatusError(response.url, f"HTTP {response.status}", status=response.status)

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            wait = _parse_retry_after(retry_after)
            if wait is not None:
                return min(self.retry_cap, wait)
        exponential = self.retry_base * 2 ** (attempt - 1)
        return min(self.retry_cap, exponential) * random.uniform(0.5, 1.5)

    async def _polite_once(
        self, host: str, url: str, headers: dict[str, str], verify: bool, allow_private: bool
    ) -> Response:
        wait = self._host_last.get(host, 0.0) + self.min_delay - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        async with self._global:
            reached = True
            try:
                return await self._once(url, headers, verify, allow_private)
            except TransportError as exc:
                reached = exc.reached
                raise
            finally:  # the pause protects a server from us; a connection never made asked nothing of it
                if reached:
                    self._host_last[host] = time.monotonic()

    async def _once(self, url: str, headers: dict[str, str], verify: bool, allow_private: bool) -> Response:
        started = time.monotonic()
        self.requests_sent += 1
        key = self._client(urlsplit(url).netloc.lower(), verify, allow_private)
        self._in_use[key] += 1
        try:
            async with asyncio.timeout(self.deadline):
                async with self._clients[key].stream("GET", url, headers=headers) as reply:
                    declared = reply.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > self.max_bytes:
                        raise TooLarge(url, f"body of {int(declared):,} bytes exceeds the {self.max_bytes:,} byte cap")
                    body = bytearray()
                    # decoded here, within the cap at every layer: httpx inflates a chunk in one call
                    decoder = BoundedDecoder(reply.headers.get("content-encoding", ""), self.max_bytes)
                    async for chunk in reply.aiter_raw():
                        body += decoder.feed(chunk)
                        if len(body) > self.max_bytes:
                            raise OverBudget
                    return Response(
                        url=str(reply.url),
                        requested_url=url,
                        status=reply.status_code,
                        headers={k.lower(): v for k, v in reply.headers.items()},
                        content=bytes(body),
                        elapsed=time.monotonic() - started,
                    )
        except OverBudget:
            raise TooLarge(url, f"body exceeds the {self.max_bytes:,} byte cap once decoded") from None
        except EncodingError as exc:
            raise TransportError(url, str(exc), retryable=False) from None
        except TimeoutError:
            raise TransportError(url, f"no complete answer within {self.deadline:.0f} s", retryable=True) from None
        except httpx.TimeoutException as exc:
            raise TransportError(url, f"timed out ({type(exc).__name__})", retryable=True) from None
        except httpx.TooManyRedirects:
            raise TransportError(url, "too many redirects (a redirect loop?)", retryable=False) from None
        except httpx.DecodingError as exc:
            raise TransportError(url, f"undecodable compressed body ({exc})", retryable=False) from None
        except httpx.ConnectError as exc:
            text = str(exc)
            causes = list(_causes(exc))
            if any(isinstance(cause, AddressRefused) for cause in causes):  # not retried: it will not change
                raise TransportError(url, text, retryable=False, reached=False) from None
            if any(isinstance(cause, ssl.SSLError) for cause in causes):
                raise TlsError(url, f"TLS error: {text} (set 'verify_tls: false' for this source)") from None
            final = any(
                isinstance(cause, _FINAL_CONNECT) or getattr(cause, "errno", None) in _FINAL_ERRNOS for cause in causes
            )
            raise TransportError(
                url, f"connection failed: {text or type(exc).__name__}", retryable=not final, reached=False
            ) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise TransportError(url, f"connection broken: {exc or type(exc).__name__}", retryable=True) from None
        except httpx.InvalidURL as exc:
            raise TransportError(url, f"invalid URL: {exc}", retryable=False) from None
        except httpx.UnsupportedProtocol as exc:  # a redirect to file:, ftp:, gopher: ...: this page fails
            raise TransportError(url, f"unsupported URL scheme: {exc}", retryable=False) from None
        finally:
            self._in_use[key] -= 1
            if not self._in_use[key]:
                del self._in_use[key]

    async def _fetch_robots(self, robots_url: str, allow_private: bool) -> tuple[int, str]:
        # Unverified TLS is harmless here: robots.txt only ever restrains us. The address policy is not.
        host = urlsplit(robots_url).netloc.lower()
        response = await self._polite_once(host, robots_url, {}, False, allow_private)
        return response.status, response.content[:500_000].decode("utf-8", "replace")


def _parse_retry_after(value: str) -> float | None:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
