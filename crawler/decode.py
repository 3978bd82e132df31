"""Bytes to text, for portals whose charset labels cannot be trusted.

Order: a byte-order mark, UTF-16 recognised by its zero bytes (markup is ASCII, so every other byte
of a UTF-16 page is 0), the source's configured encoding, the HTTP charset, ``<meta charset>`` or
``http-equiv``; the first that decodes cleanly wins. When none does (the classic GBK page labelled
UTF-8), strict GB18030 and Big5 decodes are tried: GB18030 accepts nearly any Big5 byte sequence
(as mojibake) while Big5 rejects most GBK text, so one that alone succeeds wins, and when both do,
charset-normalizer chooses between the two. GBK and GB2312 are decoded as their superset GB18030.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_SUPERSETS = {
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "x-gbk": "gb18030",
    "ascii": "utf-8",
    "us-ascii": "utf-8",
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
}
_CANDIDATES = ["utf_8", "gb18030", "big5", "big5hkscs", "utf_16"]
_CHINESE = ("gb18030", "big5hkscs")  # tried strictly, in this order, when the labels lie
_SAMPLE = 4096  # bytes looked at for UTF-16's zero bytes


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    detected: bool  # True when the labels were wrong or missing and the encoding was guessed


def canonical(name: str) -> str | None:
    """Python's codec name for a label, with GBK-family labels mapped to GB18030."""
    label = name.strip().strip("\"'").lower()
    label = _SUPERSETS.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def header_charset(content_type: str | None) -> str | None:
    match = _HEADER_CHARSET.search(content_type or "")
    return match.group(1) if match else None


def meta_charset(content: bytes) -> str | None:
    match = _META_CHARSET.search(content[:4096])
    return match.group(1).decode("ascii", "replace") if match else None


def decode_html(content: bytes, content_type: str | None = None, configured: str | None = None) -> Decoded:
    """Decode a page, trusting labels only when they decode cleanly."""
    for bom, name in _BOMS:
        if content.startswith(bom):
            return Decoded(content[len(bom) :].decode(name, "replace"), name, False)
    utf16 = _utf16_without_bom(content)
    if utf16:
        return Decoded(content.decode(utf16, "replace"), utf16, True)

    labels = [configured, header_charset(content_type), meta_charset(content)]
    tried: list[str] = []
    for label in labels:
        candidate = canonical(label) if label else None
        if not candidate or candidate in tried:
            continue
        tried.append(candidate)
        try:
            return Decoded(content.decode(candidate), candidate, False)
        except UnicodeDecodeError:
            continue

    if "utf-8" not in tried:
        # Unlabelled or mislabelled: bytes that are valid UTF-8 throughout are UTF-8 (GBK text almost
        # never is), and a strict decode costs far less than statistical detection.
        try:
            return Decoded(content.decode("utf-8"), "utf-8", True)
        except UnicodeDecodeError:
            pass
    # The usual lie on these portals: GBK (or, on Traditional pages, Big5) bytes labelled UTF-8.
    clean = [name for name in _CHINESE if _decodes(content, name)]
    if len(clean) == 1:
        return Decoded(content.decode(clean[0]), clean[0], True)
    best = from_bytes(content, cp_isolation=clean or _CANDIDATES).best()
    if best is not None and best.encoding:
        name = canonical(best.encoding) or "utf-8"
        return Decoded(content.decode(name, "replace"), name, True)
    fallback = tried[0] if tried else "utf-8"
    return Decoded(content.decode(fallback, "replace"), fallback, True)


def _decodes(content: bytes, encoding: str) -> bool:
    try:
        content.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _utf16_without_bom(content: bytes) -> str | None:
    """utf-16-le or -be when the sample's zero bytes say so: at least an eighth of its byte pairs hold
    one, nearly always on the same side (ASCII markup puts them there; a few CJK characters such as
    一 U+4E00 on the other). No text in a single-byte, GB, Big5 or UTF-8 encoding has zero bytes."""
    sample = content[: _SAMPLE - _SAMPLE % 2]
    pairs = len(sample) // 2
    if pairs < 8:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd >= pairs // 8 and even <= odd // 10:
        return "utf-16-le"
    if even >= pairs // 8 and odd <= even // 10:
        return "utf-16-be"
    return None
