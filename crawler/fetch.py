"""HTTP fetching: polite, bounded, retried, conditional.

One :class:`Fetcher` per process wraps ``httpx.AsyncClient`` s (one per host) and enforces:

* one request at a time per host, with a minimum delay between them, under a global limit;
* retries with capped exponential backoff and jitter on timeouts, connection errors, 429 and 5xx,
  honouring ``Retry-After``;
* conditional GET from stored validators (a 304 carries no body);
* a size cap on the decoded body (so a gzip bomb stops at the cap) and a total deadline per
  request (so a slowloris body cannot hold a worker forever);
* robots.txt, unless a source opts out;
* a proxy per source (its targets vetted by the address policy before the proxy is asked);
* anti-bot challenges raised as :class:`Blocked`, never retried; for a source with ``fetch: auto``
  the browser (:mod:`crawler.browser`) passes the challenge and the host's HTTP requests reuse its
  cookies, and ``fetch: browser`` renders every page there. Every request the browser makes comes
  back here (:meth:`Fetcher.relay`), so all of the above applies to it too.
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
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import TYPE_CHECKING, Self
from urllib.parse import urlsplit

import httpcore
import httpx

from crawler.access import Access
from crawler.addresses import PublicOnlyBackend, is_public, vetted, with_network_backend
from crawler.blocked import blocked_reason
from crawler.config import BrowserSettings, FetchMode, Settings
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
from crawler.secrets import UnsetVariable, expand, redacted

if TYPE_CHECKING:
    from crawler.browser import Browser

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 522, 524})
FINAL_STATUSES = frozenset({404, 410})
MAX_HOST_CLIENTS = 256  # clients kept open at least; a host beyond them gets a new one
PLAIN = Access()
WASTED_PASSES = 2  # passes in a row whose cookies the plain client could not use: the browser renders the host
# headers of the browser's requests not passed on: httpx sets its own framing and encodings
_NOT_RELAYED = frozenset({"host", "connection", "content-length", "accept-encoding", "transfer-encoding", "keep-alive"})


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
    set_cookies: tuple[str, ...] = ()  # each Set-Cookie header (``headers`` joins repeated ones)
    rendered: bool = False  # the page as the browser shows it (its DOM after its scripts ran), not as served
    reason: str = ""  # the status line's words
    header_list: tuple[tuple[str, str], ...] = ()  # the headers as they came, in order, repeats kept
    request_headers: tuple[tuple[str, str], ...] = ()  # what was sent (for the capture's request record)
    _decoded: Decoded | None = field(default=None, repr=False)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def gone(self) -> bool:
        return self.status in FINAL_STATUSES

    def decode(self, configured: str | None = None) -> Decoded:
        if self._decoded is None:
            if self.rendered:  # the browser's DOM, serialised as UTF-8 whatever the page was served in
                configured = None
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


class _NoCookies(CookieJar):
    """The jar of the clients that carry the browser's requests: its own Cookie header goes out as it
    is, and what the answer sets goes back to the browser, not into a jar of ours."""

    def __init__(self) -> None:
        super().__init__(DefaultCookiePolicy(allowed_domains=[]))


# A client: per host, TLS mode, address policy, proxy, and whether it carries the browser's requests
_ClientKey = tuple[str, bool, bool, str | None, bool]


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
        browser: BrowserSettings = _DEFAULTS.browser,
        max_clients: int = MAX_HOST_CLIENTS,
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
        self.browser_settings = browser
        self.max_clients = max_clients  # host clients kept open (the runtime: one per configured host)
        self._global = asyncio.Semaphore(concurrency)
        self._host_locks: dict[str, asyncio.Lock] = {}
        self._relay_locks: dict[str, asyncio.Lock] = {}  # the browser's requests to a host, one at a time
        self._host_last: dict[str, float] = {}
        # One client (and connection pool) per host, the least recently used closed beyond a bound:
        # httpcore's pool scans all its connections, with a readability syscall each, for every
        # request, so one pool for hundreds of hosts spent more time there than fetching.
        self._clients: OrderedDict[_ClientKey, httpx.AsyncClient] = OrderedDict()
        self._in_use: Counter[_ClientKey] = Counter()
        self._closing: set[asyncio.Task[None]] = set()
        self._tls: dict[bool, ssl.SSLContext] = {}  # one per mode: loading the CA bundle costs ~10 ms
        # one cookie jar per host, shared by its clients and outliving them: a challenge's cookies
        self._jars: dict[str, CookieJar] = {}
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
        self._browser: Browser | None = None
        # per host: plain requests answered since the browser last passed its challenge
        self._plain_since_pass: dict[str, int] = {}
        self._wasted_passes: dict[str, int] = {}
        self._rendered_until: dict[str, float] = {}  # hosts whose pages the browser renders, until when
        self.requests_sent = 0
        self.challenges_passed = 0

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
            "browser": settings.browser,
        }
        options.update(overrides)
        return cls(**options)  # type: ignore[arg-type]

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object | TracebackType) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._browser is not None:
            await self._browser.aclose()
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
        if self._closing:
            await asyncio.gather(*self._closing)

    @property
    def browser_launches(self) -> int:
        return self._browser.launches if self._browser is not None else 0

    @property
    def browser_running(self) -> bool:
        return self._browser is not None and self._browser.running

    def browser_state(self) -> dict[str, object]:
        """For health: the browser's use so far, and the hosts whose pages it renders for now."""
        now = time.monotonic()
        return {
            "running": self.browser_running,
            "launches": self.browser_launches,
            "challenges_passed": self.challenges_passed,
            "requests_refused": self._browser.refused if self._browser is not None else 0,
            "rendered_hosts": sorted(host for host, until in self._rendered_until.items() if until > now),
        }

    def _client(self, host: str, access: Access, relay: bool) -> _ClientKey:
        """The key of the client for ``host`` (made on first use); an injected transport serves every host."""
        injected = self._client_options["transport"] is not None
        verify = access.verify_tls
        key = ("" if injected else host, verify, access.allow_private, access.proxy, relay)
        if key in self._clients:
            self._clients.move_to_end(key)
            return key
        options = dict(self._client_options)
        if not injected:
            if verify not in self._tls:
                self._tls[verify] = httpx.create_ssl_context(verify=verify)
            proxy = expand(access.proxy) if access.proxy else None  # UnsetVariable: the caller says which
            # the host's requests come one at a time (Fetcher.get holds its lock); redirects may add a few
            transport = httpx.AsyncHTTPTransport(
                verify=self._tls[verify],
                limits=httpx.Limits(max_connections=4, max_keepalive_connections=1),
                proxy=proxy,
            )
            backend = self._network_backend
            if backend is None and not access.allow_private:
                if proxy is None:
                    backend = PublicOnlyBackend(self._address_policy)
                else:  # the proxy is the operator's own, often on their network; its targets are vetted
                    options["event_hooks"] = {"request": [self._vet_proxied]}
            if backend is not None:
                with_network_backend(transport, backend)
            options["transport"] = transport
        jar = _NoCookies() if relay else self._jar(host)
        self._clients[key] = httpx.AsyncClient(verify=self._tls.get(verify, verify), cookies=jar, **options)  # type: ignore[arg-type]
        self._close_idle_clients()
        return key

    def _jar(self, host: str) -> CookieJar:
        return self._jars.setdefault(host, CookieJar())

    async def _vet_proxied(self, request: httpx.Request) -> None:
        """Every request and redirect hop that goes through a proxy: its target vetted here first."""
        await vetted(request.url.host, request.url.port or 443, self._address_policy, proxied=True)

    def _close_idle_clients(self) -> None:
        excess = len(self._clients) - self.max_clients
        for key in list(self._clients):
            if excess <= 0:
                break
            if self._in_use[key]:  # a request is under way on it
                continue
            task = asyncio.create_task(self._clients.pop(key).aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
            excess -= 1

    async def get(self, url: str, *, conditional: Conditional | None = None, access: Access = PLAIN) -> Response:
        """GET ``url`` politely. Raises a :class:`FetchError` subclass when no usable answer came.
        Only public addresses are connected to (every redirect hop too) unless ``access.allow_private``."""
        host = urlsplit(url).netloc.lower()
        lock = self._host_locks.setdefault(host, asyncio.Lock())
        async with lock:
            await self._obey_robots(url, access)
            if access.mode is FetchMode.browser or self._rendered_until.get(host, 0.0) > time.monotonic():
                return self._check(await self._browser_for(url).render(url, access, self._jar(host)))
            response = await self._plain(host, url, conditional, access)
            if access.mode is FetchMode.auto and blocked_reason(response.status, response.content, response.headers):
                return await self._pass(host, response, access)
            if host in self._plain_since_pass:
                self._plain_since_pass[host] += 1
                self._wasted_passes.pop(host, None)
            return self._check(response)

    async def _pass(self, host: str, challenge: Response, access: Access) -> Response:
        """A challenge answered a plain request: the browser passes it, its cookies go into the host's jar
        for the plain requests after this one, and the page it was let through to is the answer."""
        jar = self._jar(host)
        url = challenge.requested_url
        browser = self._browser_for(url)
        # passes in a row whose cookies did not let one plain request by (one may be bad luck: the
        # cookie's lifetime ended just then; two say the gateway ties them to the browser)
        wasted = self._wasted_passes[host] = self._wasted_passes.get(host, 0) + (self._plain_since_pass.get(host) == 0)
        if wasted >= WASTED_PASSES:
            self._rendered_until[host] = time.monotonic() + self.browser_settings.plain_again_after.total_seconds()
            del self._plain_since_pass[host], self._wasted_passes[host]  # once that time is up: plain again
            return self._check(await browser.render(url, access, jar))
        response = await browser.pass_challenge(url, access, jar, challenge)
        self.challenges_passed += 1
        self._plain_since_pass[host] = 0
        return self._check(response)

    def _browser_for(self, url: str) -> Browser:
        if self._browser is None:
            from crawler.browser import Browser  # Playwright is imported only where a source needs it

            self._browser = Browser(self.browser_settings, user_agent=self.user_agent, relay=self.relay)
        return self._browser

    async def _plain(self, host: str, url: str, conditional: Conditional | None, access: Access) -> Response:
        headers = conditional.headers() if conditional else {}
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._polite_once(host, url, headers, access)
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
            return response

    async def relay(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None, access: Access
    ) -> Response:
        """One request the browser makes, made here instead: the address policy, proxy, robots.txt, the
        pause between requests to a host, the size cap and the deadline all apply. Redirects are not
        followed: each hop goes back to the browser (crawler.browser), and comes back here; the answer
        is not judged (the browser is there to get past challenges)."""
        host = urlsplit(url).netloc.lower()
        await self._obey_robots(url, access)
        passed = {k: v for k, v in headers.items() if k.lower() not in _NOT_RELAYED and not k.startswith(":")}
        async with self._relay_locks.setdefault(host, asyncio.Lock()):
            return await self._polite_once(host, url, passed, access, method=method, body=body, relay=True)

    async def _obey_robots(self, url: str, access: Access) -> None:
        if access.robots and not await self.robots.allowed(url, self.user_agent, access):
            raise RobotsDisallowed(url, "disallowed by robots.txt (set 'robots: false' to override)")

    def _check(self, response: Response) -> Response:
        # a rendered page is what the browser showed once the challenge was behind it (it may well be a
        # script that built the page): its status is judged, its content was, as it came
        reason = None if response.rendered else blocked_reason(response.status, response.content, response.headers)
        if reason:
            raise Blocked(response.url, reason, status=response.status)
        if 200 <= response.status < 300 or response.status == 304 or response.gone:
            return response
        if response.status == 407:
            raise HttpStatusError(response.url, "HTTP 407: the proxy wants other credentials", status=407)
        raise HttpStatusError(response.url, f"HTTP {response.status}", status=response.status)

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            wait = _parse_retry_after(retry_after)
            if wait is not None:
                return min(self.retry_cap, wait)
        exponential = self.retry_base * 2 ** (attempt - 1)
        return min(self.retry_cap, exponential) * random.uniform(0.5, 1.5)

    async def _polite_once(
        self,
        host: str,
        url: str,
        headers: dict[str, str],
        access: Access,
        *,
        method: str = "GET",
        body: bytes | None = None,
        relay: bool = False,
    ) -> Response:
        wait = self._host_last.get(host, 0.0) + self.min_delay - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        async with self._global:
            reached = True
            try:
                return await self._once(url, headers, access, method=method, body=body, relay=relay)
            except TransportError as exc:
                reached = exc.reached
                raise
            finally:  # the pause protects a server from us; a connection never made asked nothing of it
                if reached:
                    self._host_last[host] = time.monotonic()

    async def _once(
        self, url: str, headers: dict[str, str], access: Access, *, method: str, body: bytes | None, relay: bool
    ) -> Response:
        started = time.monotonic()
        via = f" through the proxy {redacted(access.proxy)}" if access.proxy else ""
        try:
            key = self._client(urlsplit(url).netloc.lower(), access, relay)
        except UnsetVariable as exc:
            raise TransportError(
                url, f"proxy {redacted(access.proxy or '')}: {exc}", retryable=False, reached=False
            ) from None
        self.requests_sent += 1
        self._in_use[key] += 1
        try:
            async with asyncio.timeout(self.deadline):
                request = self._clients[key].stream(
                    method, url, headers=headers, content=body, follow_redirects=not relay
                )
                async with request as reply:
                    declared = reply.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > self.max_bytes:
                        raise TooLarge(url, f"body of {int(declared):,} bytes exceeds the {self.max_bytes:,} byte cap")
                    content = bytearray()
                    # decoded here, within the cap at every layer: httpx inflates a chunk in one call
                    decoder = BoundedDecoder(reply.headers.get("content-encoding", ""), self.max_bytes)
                    async for chunk in reply.aiter_raw():
                        content += decoder.feed(chunk)
                        if len(content) > self.max_bytes:
                            raise OverBudget
                    return Response(
                        url=str(reply.url),
                        requested_url=url,
                        status=reply.status_code,
                        headers={k.lower(): v for k, v in reply.headers.items()},
                        content=bytes(content),
                        elapsed=time.monotonic() - started,
                        set_cookies=tuple(reply.headers.get_list("set-cookie")),
                        reason=reply.reason_phrase,
                        header_list=tuple(reply.headers.multi_items()),
                        request_headers=tuple(reply.request.headers.multi_items()),
                    )
        except OverBudget:
            raise TooLarge(url, f"body exceeds the {self.max_bytes:,} byte cap once decoded") from None
        except AddressRefused as exc:  # a proxied target, vetted before the proxy was asked
            raise TransportError(url, str(exc), retryable=False, reached=False) from None
        except EncodingError as exc:
            raise TransportError(url, str(exc), retryable=False) from None
        except TimeoutError:
            raise TransportError(url, f"no complete answer within {self.deadline:.0f} s{via}", retryable=True) from None
        except httpx.TimeoutException as exc:
            raise TransportError(url, f"timed out ({type(exc).__name__}){via}", retryable=True) from None
        except httpx.TooManyRedirects:
            raise TransportError(url, "too many redirects (a redirect loop?)", retryable=False) from None
        except httpx.DecodingError as exc:
            raise TransportError(url, f"undecodable compressed body ({exc})", retryable=False) from None
        except httpx.ProxyError as exc:  # the proxy answered, but would not connect us (or wants credentials)
            said = str(exc) or type(exc).__name__
            raise TransportError(
                url, f"the proxy {redacted(access.proxy or '')} refused: {said}", retryable=True, reached=False
            ) from None
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
                url, f"connection failed{via}: {text or type(exc).__name__}", retryable=not final, reached=False
            ) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise TransportError(url, f"connection broken{via}: {exc or type(exc).__name__}", retryable=True) from None
        except httpx.InvalidURL as exc:
            raise TransportError(url, f"invalid URL: {exc}", retryable=False) from None
        except httpx.UnsupportedProtocol as exc:  # a redirect to file:, ftp:, gopher: ...: this page fails
            raise TransportError(url, f"unsupported URL scheme: {exc}", retryable=False) from None
        finally:
            self._in_use[key] -= 1
            if not self._in_use[key]:
                del self._in_use[key]

    async def _fetch_robots(self, robots_url: str, access: Access) -> tuple[int, str]:
        # Unverified TLS is harmless here: robots.txt only ever restrains us. The address policy and proxy are not.
        host = urlsplit(robots_url).netloc.lower()
        response = await self._polite_once(host, robots_url, {}, replace(access, verify_tls=False))
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
