"""The HTTP/1.1 parser the servers run: uvicorn's h11 protocol, tolerant of raw UTF-8 in request targets.

People type ``/all.xml?q=检察`` and some clients send it as raw UTF-8 bytes; h11 and httptools both reject
such a request line ("Invalid HTTP request"). Browsers percent-encode; we do the same for the others
before parsing, so both spellings reach the application as the same query.
"""

from __future__ import annotations

import re

from uvicorn.protocols.http.h11_impl import H11Protocol

# a request line whose target holds bytes outside ASCII
_RAW_TARGET = re.compile(rb"(?m)^([A-Z]{3,10} )([^ \r\n]*[\x80-\xff][^ \r\n]*)( HTTP/1\.[01]\r?)$")
_NON_ASCII = re.compile(rb"[\x80-\xff]")


def percent_encode_targets(data: bytes) -> bytes:
    """``data`` with every non-ASCII byte of a request line's target percent-encoded (RFC 3986)."""
    if not _NON_ASCII.search(data):
        return data
    return _RAW_TARGET.sub(
        lambda m: m[1] + _NON_ASCII.sub(lambda b: b"%%%02X" % b[0][0], m[2]) + m[3],
        data,
    )


class TolerantH11Protocol(H11Protocol):
    """Pass as ``uvicorn.Config(http=...)``. A request line split across two reads is parsed as sent
    (h11 may then reject it); in practice a GET line arrives in one segment."""

    def data_received(self, data: bytes) -> None:
        super().data_received(percent_encode_targets(data))
