"""Crawl cycle: N simulated portals (200 ms latency, 20 articles each), first and steady-state cycles.

A real asyncio HTTP server on 127.0.0.1 answers for every portal by its Host header; an httpx
transport routes the portals' host names to it, so the crawler's per-host politeness and global
concurrency work exactly as against N real sites. The ideal is latency x requests / concurrency,
and never less than one host's requests one after another.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import resource
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import Row, verdict
from crawler.config import parse_config
from crawler.demo.synthetic import sentences
from crawler.runtime import Runtime
from storage import Store, make_engine
from storage.db import ensure_schema

LATENCY = 0.2
ARTICLES = 20
CONCURRENCY = 64


class Portals:
    """Serves /index.shtml and /202401/t202401DD_ID.shtml for every host, after LATENCY seconds."""

    def __init__(self) -> None:
        self.requests = 0
        self.not_modified = 0
        self.pool = sentences()
        self.port = 0

    def page(self, host: str, path: str) -> bytes | None:
        if path == "/index.shtml":
            links = "".join(
                f'<li><a href="/202401/t202401{1 + i % 28:02d}_{i}.shtml">{host} 文章{i}</a>'
                f"<span>2024-01-{1 + i % 28:02d}</span></li>"
                for i in range(ARTICLES)
            )
            return f'<html><head><meta charset="utf-8"></head><body><ul>{links}</ul></body></html>'.encode()
        if path.startswith("/202401/t"):
            seed = f"{host}{path}"
            rng = random.Random(seed)
            body = "".join(f"<p>{s}。</p>" for s in rng.sample(self.pool, 6))
            title = f"{host.split('.')[0]}文章{path.rsplit('_', 1)[-1].split('.')[0]}"
            return (
                f'<html><head><meta charset="utf-8"><meta name="ArticleTitle" content="{title}">'
                f'<meta name="PubDate" content="2024-01-05 10:00"></head><body><div class="TRS_Editor">'
                f"<p>{seed}</p>{body}</div></body></html>"
            ).encode()
        return None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                lines = request.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                self.requests += 1
                await asyncio.sleep(LATENCY)
                body = self.page(headers.get("host", ""), path)
                if body is None:
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                else:
                    etag = '"' + hashlib.md5(body).hexdigest()[:16] + '"'
                    if headers.get("if-none-match") == etag:
                        self.not_modified += 1
                        writer.write(f"HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nContent-Length: 0\r\n\r\n".encode())
                    else:
                        writer.write(
                            f"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nETag: {etag}\r\n"
                            f"Content-Length: {len(body)}\r\n\r\n".encode()
                            + body
                        )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client hung up, or the benchmark is over
        finally:
            writer.close()


class RoutedTransport(httpx.AsyncHTTPTransport):
    """Every portal's host name goes to the local server; the Host header keeps the portal apart."""

    def __init__(self, port: int, **options: object):
        super().__init__(**options)  # type: ignore[arg-type]
        self.port = port

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # A copy goes to the wire: the client must keep seeing the portal's own URL.
        headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"host"]
        headers.append((b"Host", request.url.host.encode()))
        routed = httpx.Request(
            request.method,
            request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port),
            headers=headers,
            stream=request.stream,
            extensions=request.extensions,
        )
        return await super().handle_async_request(routed)


async def cycles(portals: int, directory: Path) -> dict[str, float]:
    server_state = Portals()
    server = await asyncio.start_server(server_state.handle, "127.0.0.1", 0, limit=1 << 16)
    port = server.sockets[0].getsockname()[1]
    yaml = f"settings: {{min_delay: 0s, concurrency: {CONCURRENCY}}}\nsources:\n" + "".join(
        f"  - {{id: p{i:04d}, name: p{i}, adapter: trs, lists: ['https://p{i:04d}.bench.gov.cn/index.shtml'],"
        " schedule: {every: 30m}}\n"
        for i in range(portals)
    )
    config = parse_config(yaml)
    engine = make_engine(str(directory / "crawl.sqlite3"))
    ensure_schema(engine)
    store = Store(engine)
    transport = RoutedTransport(
        port, limits=httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    )
    results: dict[str, float] = {}
    runtime = Runtime(config, store, on_fetch=lambda entry: None, fetcher_options={"transport": transport})
    async with server, runtime:
        for name in ("first", "steady"):
            before, before_304 = server_state.requests, server_state.not_modified
            started = time.perf_counter()
            crawls = [runtime.crawl_of(source, recheck_listed=False) for source in config.sources]
            reports = await asyncio.gather(*(c.run() for c in crawls))
            results[f"{name}_seconds"] = time.perf_counter() - started
            results[f"{name}_requests"] = server_state.requests - before
            results[f"{name}_304"] = server_state.not_modified - before_304
            results[f"{name}_articles_fetched"] = sum(len(r.articles) for r in reports)
            results[f"{name}_failed"] = sum(not r.ok for r in reports)
    results["stored"] = store.counts()["articles"]
    engine.dispose()
    return results


def ideal(requests: float, per_host: float) -> float:
    return max(requests * LATENCY / CONCURRENCY, per_host * LATENCY)


def run(quick: bool = False) -> list[Row]:
    portals = 30 if quick else 1000
    with tempfile.TemporaryDirectory() as directory:
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        r = asyncio.run(cycles(portals, Path(directory)))
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    first_ideal = ideal(r["first_requests"], r["first_requests"] / portals)
    steady_ideal = ideal(r["steady_requests"], r["steady_requests"] / portals)
    label = f"{portals} portals x {ARTICLES} articles, {LATENCY * 1000:.0f} ms, concurrency {CONCURRENCY}"
    first_ratio = r["first_seconds"] / first_ideal
    steady_ratio = r["steady_seconds"] / steady_ideal
    return [
        Row(
            "crawl",
            f"first cycle ({label})",
            f"{r['first_seconds']:.1f} s for {r['first_requests']:.0f} requests, {r['stored']:.0f} articles stored",
            "",
            f"failed sources: {r['first_failed']:.0f}",
        ),
        Row(
            "crawl",
            "first cycle / ideal",
            f"{first_ratio:.2f}x (ideal {first_ideal:.1f} s)",
            "<= 2x",
            verdict(first_ratio, 2.0, higher_is_better=False),
        ),
        Row(
            "crawl",
            "steady-state cycle",
            f"{r['steady_seconds']:.1f} s, {r['steady_requests']:.0f} requests, "
            f"{r['steady_articles_fetched']:.0f} article re-fetches",
            f"{portals} requests (list pages only), 0 re-fetches",
            "met" if r["steady_requests"] == portals and r["steady_articles_fetched"] == 0 else "missed",
        ),
        Row(
            "crawl",
            "steady-state cycle / ideal",
            f"{steady_ratio:.2f}x (ideal {steady_ideal:.1f} s)",
            "<= 2x",
            verdict(steady_ratio, 2.0, higher_is_better=False),
        ),
        Row(
            "crawl",
            "share of 304 answers in the steady state",
            f"{r['steady_304'] / max(1, r['steady_requests']):.0%}",
            "",
            "",
        ),
        Row(
            "crawl",
            "peak memory (RSS, whole benchmark process)",
            f"{peak_mb:.0f} MB",
            "",
            f"before the crawl: {rss_before / 1024:.0f} MB",
        ),
    ]
