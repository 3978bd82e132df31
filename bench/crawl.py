"""Crawl cycle: N simulated portals (200 ms latency, 20 articles each), procwatch beside Scrapy.

The portals are a real asyncio HTTP server in a process of its own, answering for every portal by
its Host header (``pNNNN.bench.gov.cn``). Each crawler runs in a fresh process of its own, with a
resolver that sends the portals' names to 127.0.0.1: procwatch's whole pipeline (fetch, extract,
normalise, dedupe, campaigns, store in SQLite), first and steady-state cycles; a minimal Scrapy
spider (list pages, then each article's title) with the same latency, robots.txt, one request per
host and the same global concurrency. Wall time, CPU seconds and peak RSS come from each crawler's
own process. The ideal is latency x requests / concurrency, and never less than one host's
requests one after another.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import multiprocessing
import random
import resource
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpcore
import httpx

from bench.common import Row, verdict
from crawler.demo.synthetic import sentences

LATENCY = 0.2
ARTICLES = 20
CONCURRENCY = 64
DOMAIN = "bench.gov.cn"


def list_url(index: int, port: int) -> str:
    return f"http://p{index:04d}.{DOMAIN}:{port}/index.shtml"


class Portals:
    """Serves /index.shtml and /202401/t202401DD_ID.shtml for every host, after LATENCY seconds."""

    def __init__(self) -> None:
        self.requests = 0
        self.not_modified = 0
        self.pool = sentences()

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
                if path == "/__stats":  # the benchmark's own question, answered at once and not counted
                    stats = json.dumps({"requests": self.requests, "not_modified": self.not_modified}).encode()
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(stats), stats))
                    await writer.drain()
                    continue
                self.requests += 1
                await asyncio.sleep(LATENCY)
                body = self.page(headers.get("host", "").split(":")[0], path)
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


def serve_portals(ready: Connection) -> None:
    """The portals' process: serves until it is terminated."""

    async def main() -> None:
        portals = Portals()
        server = await asyncio.start_server(portals.handle, "127.0.0.1", 0, limit=1 << 16, backlog=1024)
        ready.send(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def server_stats(port: int) -> dict[str, int]:
    stats: dict[str, int] = httpx.get(f"http://127.0.0.1:{port}/__stats", timeout=10).json()
    return stats


class LocalPortals(httpcore.AsyncNetworkBackend):
    """The portals' host names connect to 127.0.0.1 (their port kept): procwatch's resolver here.

    Only the address is replaced: the fetcher keeps its own client and pool per host, as against N
    real sites.
    """

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, **options: Any) -> httpcore.AsyncNetworkStream:
        return await self.inner.connect_tcp("127.0.0.1" if host.endswith(DOMAIN) else host, port, **options)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def _usage() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu": own.ru_utime + own.ru_stime, "peak_rss_mb": own.ru_maxrss / 1024}


def procwatch_process(port: int, portals: int, out: Connection) -> None:
    """procwatch's crawler process: a first and a steady-state cycle over every portal."""
    from crawler.config import parse_config
    from crawler.runtime import Runtime
    from storage import Store, make_engine
    from storage.db import ensure_schema

    async def cycles(directory: Path) -> dict[str, float]:
        yaml = f"settings: {{min_delay: 0s, concurrency: {CONCURRENCY}}}\nsources:\n" + "".join(
            f"  - {{id: p{i:04d}, name: p{i}, adapter: trs, lists: ['{url}'], schedule: {{every: 30m}}}}\n"
            for i, url in enumerate(list_url(i, port) for i in range(portals))
        )
        config = parse_config(yaml)
        engine = make_engine(str(directory / "crawl.sqlite3"))
        ensure_schema(engine)
        store = Store(engine)
        results: dict[str, float] = {}
        options = {"network_backend": LocalPortals()}
        async with Runtime(config, store, on_fetch=lambda entry: None, fetcher_options=options) as runtime:
            for name in ("first", "steady"):
                before = await asyncio.to_thread(server_stats, port)
                started, cpu = time.perf_counter(), time.process_time()
                crawls = [runtime.crawl_of(source, recheck_listed=False) for source in config.sources]
                reports = await asyncio.gather(*(c.run() for c in crawls))
                results[f"{name}_seconds"] = time.perf_counter() - started
                results[f"{name}_cpu"] = time.process_time() - cpu
                after = await asyncio.to_thread(server_stats, port)
                results[f"{name}_requests"] = after["requests"] - before["requests"]
                results[f"{name}_304"] = after["not_modified"] - before["not_modified"]
                results[f"{name}_articles_fetched"] = sum(len(r.articles) for r in reports)
                results[f"{name}_failed"] = sum(not r.ok for r in reports)
        results["stored"] = store.counts()["articles"]
        engine.dispose()
        return results

    with tempfile.TemporaryDirectory() as directory:
        results = asyncio.run(cycles(Path(directory)))
    out.send(results | _usage())


def scrapy_process(port: int, portals: int, out: Connection) -> None:
    """The peer: Scrapy fetching the same portals and parsing each article's title (nothing stored)."""
    try:
        from bench.scrapy_peer import crawl
    except ImportError as exc:
        out.send({"error": f"Scrapy not installed ({exc.name}): pip install -e '.[bench]'"})
        return
    before = server_stats(port)
    results = crawl([list_url(i, port) for i in range(portals)], concurrency=CONCURRENCY, domain=DOMAIN)
    results["requests"] = server_stats(port)["requests"] - before["requests"]
    out.send(results | _usage())


def _in_process(target: Any, *args: Any) -> dict[str, Any]:
    """Run ``target(*args, connection)`` in a fresh interpreter and return what it sends."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=target, args=(*args, send))
    process.start()
    send.close()  # the child holds the sending end: its death ends the wait below
    try:
        result: dict[str, Any] = receive.recv()
    except EOFError:
        raise RuntimeError(f"{target.__name__} died (exit code {process.join() or process.exitcode})") from None
    process.join()
    return result


def ideal(requests: float, per_host: float) -> float:
    return max(requests * LATENCY / CONCURRENCY, per_host * LATENCY)


def run(quick: bool = False) -> list[Row]:
    portals = 30 if quick else 1000
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    server = context.Process(target=serve_portals, args=(send,), daemon=True)
    server.start()
    try:
        port = receive.recv()
        r = _in_process(procwatch_process, port, portals)
        peer = _in_process(scrapy_process, port, portals)
    finally:
        server.terminate()
        server.join()
    first_ideal = ideal(r["first_requests"], r["first_requests"] / portals)
    steady_ideal = ideal(r["steady_requests"], r["steady_requests"] / portals)
    label = f"{portals} portals x {ARTICLES} articles, {LATENCY * 1000:.0f} ms, concurrency {CONCURRENCY}"
    first_ratio = r["first_seconds"] / first_ideal
    steady_ratio = r["steady_seconds"] / steady_ideal
    rows = [
        Row(
            "crawl",
            f"procwatch first cycle ({label}): fetch, extract, dedupe, store",
            f"{r['first_seconds']:.1f} s, {r['first_cpu']:.1f} CPU s, {r['first_requests']:.0f} requests, "
            f"{r['stored']:.0f} articles stored",
            "",
            f"failed sources: {r['first_failed']:.0f}",
        ),
        Row(
            "crawl",
            "first cycle / ideal",
            f"{first_ratio:.2f}x (ideal {first_ideal:.1f} s)",
            "<= 1.3x",
            verdict(first_ratio, 1.3, higher_is_better=False),
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
            "<= 1.2x",
            verdict(steady_ratio, 1.2, higher_is_better=False),
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
            "peak memory (RSS of the crawler's process, both cycles)",
            f"{r['peak_rss_mb']:.0f} MB",
            "<= 200 MB",
            verdict(r["peak_rss_mb"], 200, higher_is_better=False),
        ),
    ]
    if "error" in peer:
        return [*rows, Row("crawl", "Scrapy, same portals", "not measured", "", peer["error"])]
    ratio = r["first_seconds"] / peer["seconds"]
    return [
        *rows,
        Row(
            "crawl",
            f"Scrapy {peer['version']}, same portals: fetch and parse each title, nothing stored",
            f"{peer['seconds']:.1f} s, {peer['cpu']:.1f} CPU s, {peer['requests']:.0f} requests, "
            f"{peer['titles']:.0f} titles, peak RSS {peer['peak_rss_mb']:.0f} MB",
            "",
            f"{peer['seconds'] / first_ideal:.2f}x the ideal",
        ),
        Row(
            "crawl",
            "procwatch first cycle / Scrapy (wall time)",
            f"{ratio:.2f}x",
            "<= 1x",
            verdict(ratio, 1.0, higher_is_better=False),
        ),
        Row(
            "crawl",
            "procwatch first cycle / Scrapy (CPU time)",
            f"{r['first_cpu'] / peer['cpu']:.2f}x",
            "<= 1x",
            verdict(r["first_cpu"] / peer["cpu"], 1.0, higher_is_better=False),
        ),
    ]
