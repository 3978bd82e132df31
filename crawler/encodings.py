"""Content-Encoding undone within a byte budget, across every layer.

httpx inflates each chunk in one call, however large the result: `Content-Encoding: gzip, gzip`
turned 1,827 bytes into 2 GB of memory before any size check saw a byte. Here each layer inflates
at most the budget (plus one byte, to know it was exceeded), so memory stays within a few budgets
whatever the layers hold. Only what procwatch asks for (gzip, deflate) is decoded.
"""

from __future__ import annotations

import zlib

from crawler.errors import EncodingError, OverBudget

#: what the fetcher asks for; anything else a server sends anyway is refused by name
ACCEPTED = "gzip, deflate"
_IDENTITY = {"", "identity"}


class _Layer:
    def __init__(self, name: str):
        self.name = name
        self.produced = 0
        self._inflate: zlib._Decompress | None = None if name == "deflate" else zlib.decompressobj(wbits=31)
        self._head = b""  # deflate: the first bytes, until two say which kind it is

    def feed(self, data: bytes, budget: int) -> bytes:
        if self._inflate is None:  # "deflate" is zlib-wrapped by the standard, raw from some servers
            data = self._head + data
            if len(data) < 2:
                self._head = data
                return b""
            raw = data[0] & 0x0F != 8 or (data[0] << 8 | data[1]) % 31 != 0
            self._inflate = zlib.decompressobj(wbits=-15 if raw else 15)
        try:
            out = self._inflate.decompress(data, budget + 1 - self.produced)
        except zlib.error as exc:
            raise EncodingError(f"broken {self.name} body ({exc})") from None
        self.produced += len(out)
        if self.produced > budget or self._inflate.unconsumed_tail:
            raise OverBudget
        return out


class BoundedDecoder:
    """Undoes a Content-Encoding header's layers (applied in order, so undone in reverse); no layer
    may produce more than ``budget`` bytes."""

    def __init__(self, content_encoding: str, budget: int):
        names = [name.strip().lower() for name in content_encoding.split(",")]
        names = [name for name in names if name not in _IDENTITY]
        unknown = sorted({name for name in names if name not in ("gzip", "x-gzip", "deflate")})
        if unknown:
            raise EncodingError(f"unsupported Content-Encoding {', '.join(unknown)} (procwatch asks for {ACCEPTED})")
        self.budget = budget
        self.layers = [_Layer("deflate" if name == "deflate" else "gzip") for name in reversed(names)]

    def feed(self, data: bytes) -> bytes:
        for layer in self.layers:
            if not data:
                break
            data = layer.feed(data, self.budget)
        return data
