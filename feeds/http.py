"""The HTTP/1.1 parser the servers run: uvicorn's h11 protocol, tolerant of raw UTF-8 in request targets.

People type ``/all.xml?q=检察`` and some clients send it as raw UTF-8 bytes; h11 and httptools both reject
such a request line ("Invalid HTTP request"). Browsers percent-encode; we do the same for the others
before parsing, so both spellings reach the application as the same query.
"""

from __future__ import annotations

import re

from uvicorn.protocols.http.h11_impl import H11Protocol

_METHOD = re.compile(rb"[A-Z]{3,10}")
_VERSION = re.compile(rb"HTTP/1\.[01]\r?")
_NON_ASCII = re.compile(rb"[\x80-\xff]")


def percent_encode_targets(data: bytes) -> bytes:
    """``data`` with every non-ASCII byte of a request line's target percent-encoded (RFC 3986).

    Linear in ``len(data)``: it runs on the event loop for every read, so one hostile request line
    (a pattern with backtracking took 90 s on 120 KB) must not stall the crawls and /healthz beside it.
    """
    if not _NON_ASCII.search(data):
        return data
    lines = data.split(b"\n")
    for index, line in enumerate(lines):
        if not _NON_ASCII.search(line):
            continue
        parts = line.split(b" ")  # a request line is exactly METHOD SP target SP version
        if len(parts) == 3 and _METHOD.fullmatch(parts[0]) and _VERSION.fullmatch(parts[2]) and b"\r" not in parts[1]:
            target = _NON_ASCII.sub(lambda b: b"%%%02X" % b[0][0], parts[1])
            lines[index] = b" ".join((parts[0], target, parts[2]))
    return b"\n".join(lines)


class TolerantH11Protocol(H11Protocol):
    """Pass as ``uvicorn.Config(http=...)``. A request line split across two reads is parsed as sent
    (h11 may then reject it); in practice a GET line arrives in one segment."""

    def data_received(self, data: bytes) -> None:
        super().data_received(percent_encode_targets(data))
