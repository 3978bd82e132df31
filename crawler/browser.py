"""The browser that gets procwatch past JavaScript challenges: Playwright driving the system's Chromium.

One Chromium per process, launched when a source first needs it and closed when unused for a while
(``settings.browser.idle``), with a few pages open at once (``settings.browser.pages``). Each visit
gets a fresh context seeded with the host's cookies; what the visit ends with goes back into the
host's jar, which the plain HTTP client then uses (:meth:`crawler.fetch.Fetcher.get`).

The browser itself never touches the network. Every request it makes is intercepted and made by
the fetcher (:meth:`crawler.fetch.Fetcher.relay`), so the address policy, the proxy, robots.txt, the
pause between requests, the size cap and the deadline hold for it as for any request; redirects are
handed back to the browser, so each hop is vetted too. Only documents, scripts and script requests
pass (a challenge needs no images, styles or fonts). Chromium is also pointed at a proxy that does
not exist, so a request that escaped interception (a WebSocket, the browser's own housekeeping)
reaches nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from http.cookiejar import Cookie, CookieJar
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from crawler.access import Access
from crawler.blocked import CHALLENGE_STATUSES, blocked_reason
from crawler.config import BrowserSettings
from crawler.errors import Blocked, BrowserUnavailable, FetchError, RobotsDisallowed, TransportError
from crawler.fetch import Response

if TYPE_CHECKING:
    from playwright.async_api import Browser as Chromium
    from playwright.async_api import BrowserContext, Frame, Page, Playwright, Request, Route

Relay = Callable[[str, str, dict[str, str], bytes | None, Access], Awaitable[Response]]

NEEDED = frozenset({"document", "script", "xhr", "fetch"})  # what a challenge needs; the rest is refused
QUIET = 0.5  # seconds without a request after which a rendered page's scripts are taken to be done
MAX_REDIRECTS = 10  # of a script's request (a document's redirects are navigations, each one a visit of its own)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
# nothing listens on the discard port: a request that escaped interception goes nowhere
_NOWHERE = ["--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]
_ARGS = ["--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--mute-audio", *_NOWHERE]


def chromium_path(settings: BrowserSettings) -> str | None:
    """settings.browser.executable, then $PROCWATCH_CHROMIUM, then Chromium on PATH."""
    if settings.executable:
        return settings.executable
    return os.environ.get("PROCWATCH_CHROMIUM") or next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


class Browser:
    """Passes challenges and renders pages; see the module's docstring. ``launches`` counts Chromium starts."""

    def __init__(self, settings: BrowserSettings, *, user_agent: str, relay: Relay):
        self.settings = settings
        self.user_agent = user_agent
        self._relay = relay
        self._pages = asyncio.Semaphore(settings.pages)
        self._starting = asyncio.Lock()
        self._driver: Playwright | None = None
        self._chromium: Chromium | None = None
        self._busy = 0
        self._idle_timer: asyncio.TimerHandle | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self.launches = 0
        self.refused = 0  # requests the browser wanted and did not get (not needed, or not allowed)

    @property
    def running(self) -> bool:
        return self._chromium is not None and self._chromium.is_connected()

    async def pass_challenge(
        self, url: str, access: Access, jar: CookieJar, challenge: Response | None = None
    ) -> Response:
        """Open ``url``, let its challenge run until the portal answers with a page, and return that
        answer as it was served; the cookies the browser holds then are put in ``jar``. ``challenge``:
        the challenge a plain request got for ``url``, shown to the browser instead of asking again."""
        return await self._visit(url, access, jar, render=False, challenge=challenge)

    async def render(self, url: str, access: Access, jar: CookieJar) -> Response:
        """The page at ``url`` as the browser shows it once loaded, its scripts run (challenge included)."""
        return await self._visit(url, access, jar, render=True)

    async def aclose(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        await self._shutdown()
        if self._closing:
            await asyncio.gather(*self._closing)

    async def _visit(
        self, url: str, access: Access, jar: CookieJar, *, render: bool, challenge: Response | None = None
    ) -> Response:
        async with self._pages:
            self._busy += 1
            try:
                chromium = await self._running(url)
                from playwright.async_api import Error as PlaywrightError  # importable: Chromium runs

                try:
                    context = await chromium.new_context(
                        user_agent=self.user_agent, locale="zh-CN", service_workers="block", accept_downloads=False
                    )
                except PlaywrightError as exc:  # it died since: the next visit launches another
                    raise TransportError(url, f"the browser failed: {_first_line(exc)}", retryable=True) from None
                try:
                    await context.add_cookies(_to_browser(jar, url))  # type: ignore[arg-type]
                    async with asyncio.timeout(self.settings.timeout.total_seconds()):
                        response = await _Visit(self, context, access, challenge).run(url, render)
                    _to_jar(await context.cookies(), jar)
                    return response
                except TimeoutError:
                    what = "render the page" if render else "pass the challenge"
                    raise Blocked(
                        url, f"the browser could not {what} within {self.settings.timeout.total_seconds():.0f} s"
                    ) from None
                except PlaywrightError as exc:  # Chromium crashed or was killed mid-visit
                    raise TransportError(url, f"the browser failed: {_first_line(exc)}", retryable=True) from None
                finally:
                    with contextlib.suppress(PlaywrightError):
                        await context.close()
            finally:
                self._busy -= 1
                self._schedule_idle_close()

    async def _running(self, url: str) -> Chromium:
        async with self._starting:
            if self._chromium is not None and self.running:
                return self._chromium
            await self._shutdown()  # a browser that crashed or was killed: start another
            try:
                from playwright.async_api import Error as PlaywrightError
                from playwright.async_api import async_playwright
            except ImportError:
                raise BrowserUnavailable(
                    url,
                    "this source needs a browser, and Playwright is not installed (pip install 'procwatch[browser]')",
                ) from None
            executable = chromium_path(self.settings)
            if executable is None or not (os.path.isfile(executable) or shutil.which(executable)):
                raise BrowserUnavailable(
                    url,
                    f"this source needs a browser, and no Chromium was found ({executable or 'none on PATH'}):"
                    " apt-get install chromium, or set settings.browser.executable",
                )
            args = ["--no-sandbox", *_ARGS] if os.geteuid() == 0 else _ARGS  # Chromium's sandbox refuses root
            self._driver = await async_playwright().start()
            try:
                self._chromium = await self._driver.chromium.launch(executable_path=executable, args=args)
            except PlaywrightError as exc:
                await self._shutdown()
                raise BrowserUnavailable(url, f"Chromium ({executable}) would not start: {_first_line(exc)}") from None
            self.launches += 1
            return self._chromium

    def _schedule_idle_close(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self._idle_timer = asyncio.get_running_loop().call_later(
            self.settings.idle.total_seconds(), self._close_if_idle
        )

    def _close_if_idle(self) -> None:
        if self._busy == 0 and self._chromium is not None:  # its memory back until a source needs it again
            task = asyncio.create_task(self._shutdown_when_idle())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _shutdown_when_idle(self) -> None:
        async with self._starting:
            if self._busy == 0:
                await self._shutdown()

    async def _shutdown(self) -> None:
        chromium, driver = self._chromium, self._driver
        self._chromium = self._driver = None
        if chromium is not None:
            with contextlib.suppress(Exception):  # already gone: nothing to close
                await chromium.close()
        if driver is not None:
            await driver.stop()


class _Visit:
    """One page's visit: requests relayed, the main document's answers watched."""

    def __init__(self, browser: Browser, context: BrowserContext, access: Access, challenge: Response | None):
        self.browser, self.context, self.access = browser, context, access
        # the first document already fetched (the challenge a plain request got): not asked for twice
        self.first = challenge if challenge is not None and challenge.url == challenge.requested_url else None
        self.page: Page | None = None
        self.passed: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        # main-frame documents handed to the browser, and committed by it (Playwright's events arrive in
        # their own order: the let-through page is current once as many have committed as were handed)
        self.handed = self.commits = 0
        self.last: Response | None = None  # the main document handed last
        self.committed = asyncio.Event()
        self.in_flight = 0
        self.last_request = time.monotonic()

    async def run(self, url: str, render: bool) -> Response:
        """Passing: the first main document the gateway let through, as served (or Blocked, if the page
        settled still showing the challenge). Rendering: the page once settled, its scripts run."""
        from playwright.async_api import Error as PlaywrightError

        await self.context.route("**/*", self._route)
        page = self.page = await self.context.new_page()
        page.on("framenavigated", self._navigated)
        try:
            await page.goto(url, wait_until="commit")
        except PlaywrightError as exc:
            if not self.passed.done():  # the document itself failed; its relay said why
                raise TransportError(
                    url, f"the browser could not open it: {_first_line(exc)}", retryable=True
                ) from None
        if (failure := self._failure()) is not None:
            raise failure
        if not render:
            settled: asyncio.Future[Any] = asyncio.ensure_future(self._settled(page))
            try:
                await asyncio.wait({self.passed, settled}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                settled.cancel()
            if not self.passed.done():
                reason = blocked_reason(self.last.status, self.last.content, self.last.headers) if self.last else None
                raise Blocked(url, f"{reason}: still there once the browser's page settled", status=self.last_status)
            return self.passed.result()
        await self._settled(page)
        if (failure := self._failure()) is not None:
            raise failure
        last = self.last
        assert last is not None  # a page settled: a document was handed to it
        if last.status in CHALLENGE_STATUSES:
            reason = blocked_reason(last.status, last.content, last.headers) or f"HTTP {last.status}"
            raise Blocked(url, f"{reason}: still there once the browser's page settled", status=last.status)
        html = await page.content()
        headers = {k: v for k, v in last.headers.items() if k in ("last-modified", "etag", "date")}
        return Response(
            url=page.url,
            requested_url=url,
            status=last.status,
            headers={**headers, "content-type": "text/html; charset=utf-8"},
            content=html.encode("utf-8"),
            elapsed=last.elapsed,
            rendered=True,
        )

    def _failure(self) -> BaseException | None:
        """Why the main document could not be had (its relay refused or failed), once known."""
        return self.passed.exception() if self.passed.done() else None

    @property
    def last_status(self) -> int | None:
        return self.last.status if self.last else None

    async def _settled(self, page: Page) -> None:
        """Until the page is quiet: every document handed to it committed and loaded, no request for
        ``QUIET`` seconds, and no new document on its way (a challenge reloads; a redirect navigates)."""
        while True:
            handed = self.handed
            while self.commits < handed:  # Playwright's events come in their own order: count them
                self.committed.clear()
                await self.committed.wait()
            await page.wait_for_load_state("load")
            while self.in_flight or time.monotonic() - self.last_request < QUIET:
                await asyncio.sleep(QUIET / 5)
            if self.handed == handed and self.commits >= handed:
                return

    def _navigated(self, frame: Frame) -> None:
        if self.page is not None and frame == self.page.main_frame:
            self.commits += 1
            self.committed.set()

    async def _route(self, route: Route) -> None:
        request = route.request
        main_document = (
            request.is_navigation_request() and self.page is not None and request.frame == self.page.main_frame
        )
        if request.resource_type not in NEEDED:
            self.browser.refused += 1
            await route.abort("blockedbyclient")
            return
        self.in_flight += 1
        try:
            if main_document and self.first is not None and request.url == self.first.url:
                answer, self.first = self.first, None
            else:
                answer = await self._fetch(request, follow=not request.is_navigation_request())
        except FetchError as exc:
            self.in_flight -= 1
            self.browser.refused += 1
            if main_document and not self.passed.done():
                self.passed.set_exception(exc)
            await route.abort("blockedbyclient" if isinstance(exc, RobotsDisallowed) else "addressunreachable")
            return
        self.in_flight -= 1
        self.last_request = time.monotonic()
        if main_document:
            self.handed += 1
            self.last = answer
        headers = {
            k: v for k, v in answer.headers.items() if k not in ("content-encoding", "content-length", "set-cookie")
        }
        if answer.set_cookies:
            headers["set-cookie"] = "\n".join(answer.set_cookies)  # Playwright's form for several
        location = answer.headers.get("location") if 300 <= answer.status < 400 else None
        if location:
            # A redirect fulfilled as such is followed by Chromium without coming back here (it would go to
            # the network, that is nowhere): the document navigates to it instead, and that request is ours.
            target = json.dumps(urljoin(request.url, location)).replace("<", "\\u003c")
            redirect = f"<!DOCTYPE html><script>location.replace({target})</script>".encode()
            headers["content-type"] = "text/html; charset=utf-8"
            await route.fulfill(status=200, headers=headers, body=redirect)
            return
        if (
            main_document
            and not self.passed.done()
            and not blocked_reason(answer.status, answer.content, answer.headers)
        ):
            self.passed.set_result(answer)
        await route.fulfill(status=answer.status, headers=headers, body=answer.content)

    async def _fetch(self, request: Request, *, follow: bool) -> Response:
        """The request relayed; a script's redirects followed here, hop by hop, their cookies kept."""
        url, method, body = request.url, request.method, request.post_data_buffer
        headers = await request.all_headers()
        cookies: list[str] = []
        for _hop in range(MAX_REDIRECTS + 1):
            answer = await self.browser._relay(method, url, headers, body, self.access)
            cookies += answer.set_cookies
            location = answer.headers.get("location") if 300 <= answer.status < 400 else None
            if not (follow and location):
                answer.set_cookies = tuple(cookies)
                return answer
            url, method, body = urljoin(url, location), "GET", None
        raise TransportError(request.url, "too many redirects (a redirect loop?)", retryable=False)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _to_browser(jar: CookieJar, url: str) -> list[dict[str, Any]]:
    """The jar's cookies for ``url``'s host, as Playwright takes them."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    now = int(time.time())
    cookies = []
    for cookie in jar:
        if cookie.is_expired(now):
            continue
        entry: dict[str, Any] = {"name": cookie.name, "value": cookie.value or "", "secure": cookie.secure}
        if cookie.domain_specified:
            entry |= {"domain": cookie.domain, "path": cookie.path or "/"}
        elif cookie.domain.lower() == host:
            entry["url"] = f"{parts.scheme}://{parts.netloc}{cookie.path or '/'}"
        else:
            continue
        if cookie.expires:
            entry["expires"] = float(cookie.expires)
        entry["httpOnly"] = cookie.has_nonstandard_attr("HttpOnly")
        cookies.append(entry)
    return cookies


def _to_jar(cookies: list[Any], jar: CookieJar) -> None:
    """The browser's cookies put in the host's jar, replacing those of the same name."""
    for c in cookies:
        domain = str(c["domain"])
        expires = float(c.get("expires", -1))
        jar.set_cookie(
            Cookie(
                version=0,
                name=str(c["name"]),
                value=str(c["value"]),
                port=None,
                port_specified=False,
                domain=domain,
                domain_specified=domain.startswith("."),
                domain_initial_dot=domain.startswith("."),
                path=str(c.get("path") or "/"),
                path_specified=True,
                secure=bool(c.get("secure")),
                expires=int(expires) if expires > 0 else None,
                discard=expires <= 0,
                comment=None,
                comment_url=None,
                rest={"HttpOnly": ""} if c.get("httpOnly") else {},
            )
        )
