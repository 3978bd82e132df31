"""A misbehaving web server on 127.0.0.1 for the fault suite. Bounded: it stops by itself.

Each fault is a path. ``/list/<fault>`` is a normal TRS-style list page linking to one article,
``/a/<fault>/202401/t20240101_1.shtml``, which misbehaves in its own way, at the HTTP level
(statuses, redirects, challenges, hostile bodies) or at the TCP level (slow, reset, truncated).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import random
import socket
import struct
import threading
import time
from collections.abc import Awaitable, Callable
from functools import cache
from importlib.resources import files

ARTICLE = "/a/{fault}/202401/t20240101_1.shtml"
BODY = "".join(f"<p>第{i}段:最高人民检察院部署开展“清风护企”专项行动,依法保护企业合法权益。</p>" for i in range(8))
_SENTENCES = [
    s
    for s in (files("crawler.demo") / "texts" / "000_916713a77dc3928b.txt")
    .read_text("utf-8")
    .replace("\n", "。")
    .split("。")
    if len(s) > 12
]


def body_for(name: str) -> str:
    """Text of its own for each fault page, so none is a (near-)duplicate of another."""
    chosen = random.Random(name).sample(_SENTENCES, 10)
    return "".join(f"<p>{sentence}。</p>" for sentence in chosen) + BODY


PAGE = (
    '<html><head><meta charset="utf-8"><meta name="ArticleTitle" content="{title}">'
    '<meta name="PubDate" content="{date}"></head><body><div class="TRS_Editor">{body}</div></body></html>'
)
CHALLENGE = '<html><head><script>$_ts=window["$_ts"];$_ts.nsd=60011;$_ts.cd="qEprrGAlEr";</script></head></html>'

Writer = asyncio.StreamWriter
Handler = Callable[["FaultServer", Writer], Awaitable[None]]


def head(status: int, headers: dict[str, str] | None = None, length: int | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def respond(writer: Writer, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    writer.write(
        head(status, {"Content-Type": "text/html; charset=utf-8", "Connection": "close", **(headers or {})}, len(body))
        + body
    )
    await writer.drain()


@cache
def gzip_bomb() -> bytes:
    return gzip.compress(b"\0" * 200_000_000, compresslevel=9)  # 200 MB of zeros in ~200 KB


def article(title: str, date: str = "2024-01-01 10:00", body: str | None = None) -> bytes:
    """A TRS article page whose text is its own."""
    return PAGE.format(title=title, date=date, body=f"<p>{title}。</p>{body or body_for(title)}").encode("utf-8")


async def slowloris(server: FaultServer, writer: Writer) -> None:
    writer.write(head(200, {"Content-Type": "text/html"}, 100_000))
    for _ in range(200):  # one byte every 0.2 s, for 40 s at most
        writer.write(b"<")
        await writer.drain()
        await asyncio.sleep(0.2)


async def reset_mid_body(server: FaultServer, writer: Writer) -> None:
    writer.write(head(200, {"Content-Type": "text/html"}, 50_000) + b"<html><body>" + b"x" * 2000)
    await writer.drain()
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST
    writer.transport.abort()


async def truncated_chunked(server: FaultServer, writer: Writer) -> None:
    writer.write(
        head(200, {"Content-Type": "text/html", "Transfer-Encoding": "chunked"}) + b"2000\r\n" + b"<html>" + b"y" * 100
    )
    await writer.drain()
    writer.close()


async def huge_body(server: FaultServer, writer: Writer) -> None:
    size = 50_000_000
    writer.write(head(200, {"Content-Type": "text/html"}))  # no Content-Length: the cap must catch it streaming
    chunk = b"a" * 65536
    sent = 0
    while sent < size:
        writer.write(chunk)
        await writer.drain()
        sent += len(chunk)


def status_page(status: int, body: str = "<html><body>error</body></html>", **headers: str) -> Handler:
    async def handler(server: FaultServer, writer: Writer) -> None:
        await respond(writer, status, body.encode(), headers)

    return handler


def static(body: bytes, content_type: str = "text/html; charset=utf-8", **headers: str) -> Handler:
    async def handler(server: FaultServer, writer: Writer) -> None:
        await respond(writer, 200, body, {"Content-Type": content_type, **headers})

    return handler


async def redirect_loop(server: FaultServer, writer: Writer) -> None:
    await respond(writer, 302, b"", {"Location": ARTICLE.format(fault="redirect-loop")})


async def redirect_offsite(server: FaultServer, writer: Writer) -> None:
    await respond(writer, 302, b"", {"Location": f"http://localhost:{server.port}/elsewhere.html"})


async def bomb(server: FaultServer, writer: Writer) -> None:
    await respond(writer, 200, gzip_bomb(), {"Content-Encoding": "gzip"})


def nested() -> bytes:
    return ("<html><body>" + "<div><span><p>" * 30_000 + body_for("nested") + "<td><tr></i></b>" * 5000).encode()


# fault name -> (handler for the article, what the crawl must record for it)
FAULTS: dict[str, tuple[Handler, str]] = {
    "slowloris": (slowloris, "no complete answer within"),
    "reset": (reset_mid_body, "connection broken"),
    "http-500": (status_page(500, **{"Retry-After": "0"}), "HTTP 500 after"),
    "http-502": (status_page(502, **{"Retry-After": "0"}), "HTTP 502 after"),
    "http-503": (status_page(503, **{"Retry-After": "1"}), "HTTP 503 after"),
    "http-429": (status_page(429, **{"Retry-After": "0"}), "HTTP 429 after"),
    "challenge-412": (status_page(412, CHALLENGE), "瑞数"),
    "forbidden-403": (
        status_page(403, "<html><body><h1>403 Forbidden</h1>" + "x" * 300 + "</body></html>"),
        "HTTP 403",
    ),
    "stub": (static(b"<html><script>var a=1;</script></html>"), "tiny stub page"),
    "redirect-loop": (redirect_loop, "too many redirects"),
    "redirect-offsite": (redirect_offsite, "redirected off-site"),
    "gzip-bomb": (bomb, "byte cap"),
    "body-50mb": (huge_body, "byte cap"),
    "truncated-chunked": (truncated_chunked, "connection broken"),
    # GBK bytes while both the header and <meta charset> say UTF-8
    "wrong-charset": (static(article("错标字符集的页面").decode("utf-8").encode("gbk")), "stored"),
    "nul-control": (
        static(article("控制\x00字符\x07标题", body=body_for("control").replace("第1段", "第\x001\x0b段"))),
        "stored",
    ),
    "nested-html": (static(nested()), "stored"),
    "attribute-10mb": (
        static(article("属性很长的页面", body=f'<p title="{"q" * 9_500_000}">属性很长</p>' + body_for("attribute"))),
        "stored",
    ),
    "impossible-dates": (static(article("日期不可能的页面", date="2023-02-30 25:61")), "stored"),
    "pdf": (static(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n", "application/pdf"), "not an HTML page"),
    "empty": (static(b""), "empty page"),
}


class FaultServer:
    """Serves the faults above; ``lifetime`` bounds how long it runs whatever happens."""

    def __init__(self, lifetime: float = 180.0):
        self.lifetime = lifetime
        self.port = 0  # the first listener; every fault also has its own port (a host of its own)
        self.ports: dict[str, int] = {}
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="fault-server", daemon=True)
        self.requests: dict[str, int] = {}

    def url(self, path: str, fault: str | None = None) -> str:
        return f"http://127.0.0.1:{self.ports[fault] if fault else self.port}{path}"

    def list_url(self, fault: str) -> str:
        return self.url(f"/list/{fault}", fault)

    async def _handle(self, reader: asyncio.StreamReader, writer: Writer) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            path = request.split(b" ", 2)[1].decode("latin-1")
            self.requests[path] = self.requests.get(path, 0) + 1
            if path == "/robots.txt":
                return await respond(writer, 404, b"")
            if path.startswith("/list/"):
                fault = path.removeprefix("/list/")
                link = ARTICLE.format(fault=fault)
                return await respond(
                    writer,
                    200,
                    f'<html><body><ul><li><a href="{link}">{fault}</a> 2024-01-01</li></ul></body></html>'.encode(),
                )
            fault = path.split("/")[2] if path.startswith("/a/") else ""
            if fault in FAULTS:
                return await FAULTS[fault][0](self, writer)
            await respond(writer, 404, b"not found")
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            # a handler still sleeping (slowloris) when the server's loop closes is finalised later,
            # outside the loop: closing its socket then can only fail, and need not be reported
            with contextlib.suppress(RuntimeError):
                if not writer.is_closing():
                    writer.close()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop

        async def main() -> None:
            servers = []
            for fault in FAULTS:
                server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
                self.ports[fault] = server.sockets[0].getsockname()[1]
                servers.append(server)
            self.port = next(iter(self.ports.values()))
            self._ready.set()
            try:
                await asyncio.sleep(self.lifetime)
            finally:
                for server in servers:
                    server.close()

        try:
            loop.run_until_complete(main())
        except RuntimeError:
            pass  # stopped early
        finally:
            loop.close()

    def start(self) -> FaultServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


class Blackhole:
    """A port whose accept queue is full, so connecting to it times out (loopback never drops SYNs otherwise)."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers = []
        for _ in range(8):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", self.port))
            self.fillers.append(filler)
        time.sleep(0.2)

    def close(self) -> None:
        for sock in [*self.fillers, self.listener]:
            sock.close()
