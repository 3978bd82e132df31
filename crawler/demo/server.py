"""A small static HTTP server on 127.0.0.1 with ETag / Last-Modified / 304, for mirrors and tests.

Pages live in memory and can be replaced or removed while the server runs, so tests can edit
an article between two fetches. It only ever binds to the loopback interface.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

# Before a page is served: an answer of its own (status, body, headers) instead, or None to serve it.
# The request's path and headers; a gateway in front of the site (crawler.demo.challenge).
Gate = Callable[[str, Mapping[str, str]], tuple[int, bytes, dict[str, str]] | None]


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str = ""
    last_modified: str = ""

    def __post_init__(self) -> None:
        self.etag = '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'
        self.last_modified = formatdate(usegmt=True)


class StaticServer:
    """Serves ``pages`` (path -> Page) on ``http://127.0.0.1:PORT``; counts requests per path."""

    def __init__(
        self, pages: dict[str, Page] | None = None, *, validators: bool = True, port: int = 0, host: str = "127.0.0.1"
    ):
        self.pages: dict[str, Page] = dict(pages or {})
        self.validators = validators
        self.requests: Counter[str] = Counter()
        self.conditional_requests: Counter[str] = Counter()
        self.delay = 0.0  # seconds added to every answer, to make overlapping requests observable
        self.gate: Gate | None = None
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes: with Nagle's algorithm on, the body waited for the
            # client's delayed ACK, 40 ms per response on a kept-alive connection
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                conditional = "If-None-Match" in self.headers or "If-Modified-Since" in self.headers
                with server._lock:
                    server.requests[path] += 1
                    if conditional:
                        server.conditional_requests[path] += 1
                    page = server.pages.get(path)
                    server.in_flight[path] += 1
                    server.max_in_flight[path] = max(server.max_in_flight[path], server.in_flight[path])
                try:
                    if server.delay:
                        time.sleep(server.delay)
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    instead = server.gate(path, headers) if server.gate else None
                    if instead is not None:
                        return self._send(*instead)
                    self._answer(page)
                finally:
                    with server._lock:
                        server.in_flight[path] -= 1

            def _answer(self, page: Page | None) -> None:
                if page is None:
                    return self._send(404, b"<html><body><h1>404 Not Found</h1></body></html>", {})
                headers = {"Content-Type": page.content_type, **page.headers}
                if server.validators and page.status == 200:
                    headers |= {"ETag": page.etag, "Last-Modified": page.last_modified}
                    if self.headers.get("If-None-Match") == page.etag:
                        return self._send(304, b"", headers)
                self._send(page.status, page.body, headers)

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        # a short poll interval: shutdown() waits up to one interval (0.5 s by default, per server)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="static-server", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def set(self, path: str, page: Page) -> None:
        with self._lock:
            self.pages[path] = page

    def remove(self, path: str) -> Page | None:
        with self._lock:
            return self.pages.pop(path, None)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
