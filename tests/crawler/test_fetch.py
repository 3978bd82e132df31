"""The fetcher's faults and manners, with respx standing in for the portals."""

from __future__ import annotations

import asyncio
import itertools
import time

import httpx
import pytest
import respx

from crawler.access import Access
from crawler.demo.server import Page, StaticServer
from crawler.errors import Blocked, HttpStatusError, RobotsDisallowed, TlsError, TooLarge, TransportError
from crawler.fetch import Conditional, Fetcher

BASE = "https://www.spp.gov.cn"
URL = f"{BASE}/spp/xwfbh/202407/t20240709_660012.shtml"
PAGE = "<html><body><div class='TRS_Editor'><p>" + "最高检召开党组会。" * 20 + "</p></div></body></html>"


def fetcher(**options: object) -> Fetcher:
    defaults: dict[str, object] = {"min_delay": 0, "retry_base": 0.01, "retry_cap": 0.05, "retries": 3}
    return Fetcher(**(defaults | options))  # type: ignore[arg-type]


@pytest.fixture
def portal():
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.get("/robots.txt").respond(404)
        yield router


def run(coro):
    return asyncio.run(coro)


async def get(url: str = URL, **options: object):
    async with fetcher(**options.pop("fetcher", {})) as f:  # type: ignore[arg-type]
        return await f.get(url, **options)  # type: ignore[arg-type]


def test_503_with_retry_after_is_retried(portal) -> None:
    route = portal.get("/spp/xwfbh/202407/t20240709_660012.shtml")
    route.side_effect = [httpx.Response(503, headers={"Retry-After": "0"}), httpx.Response(200, text=PAGE)]
    response = run(get())
    assert response.status == 200 and response.attempts == 2 and route.call_count == 2


def test_429_then_success(portal) -> None:
    route = portal.get("/spp/xwfbh/202407/t20240709_660012.shtml")
    route.side_effect = [httpx.Response(429), httpx.Response(429), httpx.Response(200, text=PAGE)]
    assert run(get()).attempts == 3


def test_connection_errors_are_retried_then_reported(portal) -> None:
    route = portal.get("/spp/xwfbh/202407/t20240709_660012.shtml")
    route.side_effect = httpx.ConnectError("connection refused")
    with pytest.raises(TransportError, match="connection failed"):
        run(get())
    assert route.call_count == 4  # first try + 3 retries


def test_persistent_5xx_gives_up_with_the_status(portal) -> None:
    portal.get("/spp/xwfbh/202407/t20240709_660012.shtml").respond(502)
    with pytest.raises(HttpStatusError, match="HTTP 502 after 4 attempts"):
        run(get())


def test_412_javascript_challenge_is_blocked_and_not_retried(portal) -> None:
    challenge = '<html><head><meta charset="utf-8"><script>$_ts=window["$_ts"];$_ts.nsd=12345;</script></head></html>'
    route = portal.get("/spp/xwfbh/202407/t20240709_660012.shtml").respond(412, text=challenge)
    with pytest.raises(Blocked, match="瑞数"):
        run(get())
    assert route.call_count == 1


def test_jiasule_cookie_challenge_and_tiny_stub_are_blocked(portal) -> None:
    portal.get("/a.shtml").respond(
        521, text="<script>document.cookie=('__jsl_clearance=1');location.href=location</script>"
    )
    portal.get("/b.shtml").respond(200, text="<html><script>var x=1;</script></html>")
    with pytest.raises(Blocked, match="加速乐"):
        run(get(f"{BASE}/a.shtml"))
    with pytest.raises(Blocked, match="tiny stub"):
        run(get(f"{BASE}/b.shtml"))


def test_plain_403_is_an_http_error(portal) -> None:
    portal.get("/spp/xwfbh/202407/t20240709_660012.shtml").respond(403, text="<h1>Forbidden</h1>" + "x" * 200)
    with pytest.raises(HttpStatusError, match="HTTP 403"):
        run(get())


def test_404_is_returned_as_gone(portal) -> None:
    portal.get("/spp/xwfbh/202407/t20240709_660012.shtml").respond(404)
    assert run(get()).gone


def test_conditional_request_headers_and_304(portal) -> None:
    route = portal.get("/spp/xwfbh/202407/t20240709_660012.shtml").respond(304)
    response = run(get(conditional=Conditional('"abc"', "Tue, 09 Jul 2024 10:30:00 GMT")))
    assert response.not_modified and response.content == b""
    sent = route.calls.last.request.headers
    assert sent["If-None-Match"] == '"abc"' and sent["If-Modified-Since"] == "Tue, 09 Jul 2024 10:30:00 GMT"


def test_declared_and_streamed_size_caps(portal) -> None:
    portal.get("/big1").respond(200, headers={"Content-Length": str(50_000_000)}, content=b"x" * 10)
    portal.get("/big2").respond(200, content=b"x" * 30_000)
    with pytest.raises(TooLarge, match="exceeds the 20,000 byte cap"):
        run(get(f"{BASE}/big1", fetcher={"max_bytes": 20_000}))
    with pytest.raises(TooLarge):
        run(get(f"{BASE}/big2", fetcher={"max_bytes": 20_000}))


def test_redirect_loop_is_reported(portal) -> None:
    portal.get("/loop").respond(302, headers={"Location": f"{BASE}/loop"})
    with pytest.raises(TransportError, match="too many redirects"):
        run(get(f"{BASE}/loop"))


def test_tls_failure_is_a_tls_error_naming_the_setting_to_change() -> None:
    # a real handshake against a server that speaks no TLS: classed by the ssl module's error, not words
    server = StaticServer({"/tls": Page(b"<html></html>")})
    server.start()

    async def main() -> None:
        async with Fetcher(min_delay=0, retries=0, address_policy=lambda _: True) as fetcher:
            await fetcher.get(server.url("/tls").replace("http://", "https://"), access=Access(robots=False))

    try:
        with pytest.raises(TlsError, match="verify_tls: false") as raised:
            asyncio.run(main())
    finally:
        server.stop()
    assert not raised.value.retryable


def test_robots_txt_is_obeyed_unless_the_source_opts_out() -> None:
    with respx.mock(base_url=BASE) as router:
        router.get("/robots.txt").respond(200, text="User-agent: *\nDisallow: /spp/\n")
        router.get("/spp/xwfbh/202407/t20240709_660012.shtml").respond(200, text=PAGE)
        with pytest.raises(RobotsDisallowed):
            run(get())
        assert run(get(access=Access(robots=False))).status == 200


def test_one_request_at_a_time_per_host_with_a_minimum_delay(portal) -> None:
    starts: list[float] = []

    def record(request: httpx.Request) -> httpx.Response:
        starts.append(time.monotonic())
        return httpx.Response(200, text=PAGE)

    portal.get(path__regex=r"/p\d").mock(side_effect=record)

    async def main() -> None:
        async with fetcher(min_delay=0.2) as f:
            await asyncio.gather(*(f.get(f"{BASE}/p{i}") for i in range(3)))

    run(main())
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(starts) == 3 and min(gaps) >= 0.19


def test_a_connection_never_made_does_not_hold_the_next_request_to_that_host() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: connections are refused

    async def main() -> float:
        async with Fetcher(min_delay=5.0, retries=0, timeout=5) as f:
            started = time.monotonic()
            for _ in range(2):
                with pytest.raises(TransportError, match="connection failed"):
                    await f.get(f"http://127.0.0.1:{port}/x", access=Access(robots=False, allow_private=True))
            return time.monotonic() - started

    assert run(main()) < 2.0  # not the 5 s politeness pause: the host never saw the first attempt


class LocalSite:
    """A real HTTP server on 127.0.0.1 (a host of its own, by its port) that counts its connections."""

    def __init__(self, delay: float = 0.0):
        self.delay, self.connections, self.port = delay, 0, 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                await asyncio.sleep(self.delay)
                body = PAGE.encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server


def test_each_host_keeps_its_connection_and_closing_idle_clients_spares_busy_ones() -> None:
    slow, *quick = [LocalSite(delay=0.8), LocalSite(), LocalSite(), LocalSite()]

    async def main() -> list[int]:
        servers = [await site.start() for site in (slow, *quick)]
        options = {"access": Access(robots=False, allow_private=True)}
        async with Fetcher(min_delay=0, retries=0, max_clients=2) as f:
            pending = asyncio.create_task(f.get(f"http://127.0.0.1:{slow.port}/a", **options))
            statuses = []
            for _ in range(3):  # more hosts than clients kept: the idle ones are closed, the slow one is not
                for site in quick:
                    statuses.append((await f.get(f"http://127.0.0.1:{site.port}/b", **options)).status)
            statuses.append((await pending).status)
        for server in servers:
            server.close()
        return statuses

    assert run(main()) == [200] * 10
    assert slow.connections == 1
    # three hosts through two kept clients: each request found its host's client closed and connected anew
    assert [site.connections for site in quick] == [3, 3, 3]


def test_a_host_reuses_its_connection() -> None:
    site = LocalSite()

    async def main() -> None:
        server = await site.start()
        async with Fetcher(min_delay=0, retries=0) as f:
            for _ in range(3):
                await f.get(f"http://127.0.0.1:{site.port}/b", access=Access(robots=False, allow_private=True))
        server.close()

    run(main())
    assert site.connections == 1
