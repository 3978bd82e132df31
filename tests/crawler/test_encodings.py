"""Content-Encoding within the byte cap at every layer: stacked gzip used to inflate 1.8 KB into 2 GB."""

from __future__ import annotations

import asyncio
import gzip
import tracemalloc
import zlib

import pytest

from crawler.access import Access
from crawler.demo.server import Page, StaticServer
from crawler.encodings import BoundedDecoder
from crawler.errors import EncodingError, TooLarge, TransportError
from crawler.fetch import Fetcher

HTML = "<html><head><title>标题</title></head><body><p>正文内容。</p></body></html>".encode()


def zeros_gzip(megabytes: int) -> bytes:
    """gzip of that many MB of zeros, made without holding them."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    return b"".join(packer.compress(block) for _ in range(megabytes)) + packer.flush()


def fetch(page: Page, max_bytes: int = 10 * 1024 * 1024) -> object:
    server = StaticServer({"/p": page})
    server.start()

    async def main() -> object:
        async with Fetcher(min_delay=0, retries=0, max_bytes=max_bytes, address_policy=lambda _: True) as fetcher:
            return await fetcher.get(server.url("/p"), access=Access(robots=False))

    try:
        return asyncio.run(main())
    finally:
        server.stop()


@pytest.mark.parametrize("layers", [2, 3])
def test_stacked_gzip_bombs_stop_at_the_cap_with_bounded_memory(layers: int) -> None:
    body = zeros_gzip(400)  # 400 MB of zeros once inflated
    for _ in range(layers - 1):
        body = gzip.compress(body)
    assert len(body) < 2_000_000
    tracemalloc.start()
    try:
        with pytest.raises(TooLarge, match="byte cap once decoded"):
            fetch(Page(body, headers={"Content-Encoding": ", ".join(["gzip"] * layers)}))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 80 * 1024 * 1024, f"{peak / 2**20:.0f} MB"  # a few times the 10 MB cap, not 400 MB


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("gzip, gzip", lambda b: gzip.compress(gzip.compress(b))),
        ("deflate", zlib.compress),  # zlib-wrapped, as the standard says
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send it
        ("identity", lambda b: b),
    ],
)
def test_ordinary_encodings_are_decoded(encoding: str, encode) -> None:
    response = fetch(Page(encode(HTML), headers={"Content-Encoding": encoding}))
    assert response.content == HTML  # type: ignore[attr-defined]


def test_an_encoding_not_asked_for_is_named() -> None:
    with pytest.raises(TransportError, match="unsupported Content-Encoding br"):
        fetch(Page(b"\x0b\x02\x80", headers={"Content-Encoding": "br"}))
    with pytest.raises(EncodingError, match="zstd"):
        BoundedDecoder("gzip, zstd", 100)


def test_deflate_arriving_a_byte_at_a_time_is_decoded() -> None:
    decoder = BoundedDecoder("deflate", 1 << 20)
    assert b"".join(decoder.feed(bytes([byte])) for byte in zlib.compress(HTML)) == HTML
