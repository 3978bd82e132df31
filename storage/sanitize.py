"""Safe article HTML: nh3 (ammonia) removes scripts, handlers and dangerous URLs; links become absolute."""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from urllib.parse import urljoin, urlsplit

import nh3

_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "code",
    "dd",
    "del",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
_URL_ATTRIBUTES = {"href", "src"}
_SCHEMES = {"http", "https", "mailto"}


# What browsers ignore in a URL: surrounding C0 controls and spaces (Unicode ones included, since a
# sanitizer that strips them after its check turns " javascript:" into a live link) and inner tabs
# and newlines ("java\nscript:").
_EDGES = "".join(chr(c) for c in range(0x21)) + (
    "\x7f\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_INNER = re.compile(r"[\t\n\r]")


def safe_url(value: str, base_url: str, schemes: frozenset[str] = frozenset(_SCHEMES)) -> str | None:
    """``value`` resolved against ``base_url``, or None when it would run anything: the scheme is read
    the way a browser reads it, after dropping what browsers ignore, and must be one of ``schemes`` (or
    the page's own, for saved files)."""
    cleaned = _INNER.sub("", value.strip(_EDGES))
    absolute = urljoin(base_url, cleaned)
    scheme = urlsplit(absolute).scheme.lower()
    return absolute if scheme in schemes or (scheme and scheme == urlsplit(base_url).scheme.lower()) else None


_CLEAN: OrderedDict[bytes, None] = OrderedDict()  # digests of recent outputs: already safe as they are
_CLEAN_LOCK = threading.Lock()
_CLEAN_KEEP = 512


def _digest(html: str) -> bytes:
    return hashlib.blake2b(html.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def ensure_sanitized(html: str, base_url: str) -> str:
    """``html`` made safe: sanitised, unless it is exactly what :func:`sanitize_html` just produced (the
    extractor's output, stored a moment later: a second pass over a 30,000-level page costs 1.5 s)."""
    if not html:
        return html
    with _CLEAN_LOCK:
        if _digest(html) in _CLEAN:
            return html
    return sanitize_html(html, base_url)


def sanitize_html(html: str, base_url: str) -> str:
    """Keep structure and text; drop everything executable; resolve relative links against the page."""

    def absolutise(tag: str, attribute: str, value: str) -> str | None:
        return safe_url(value, base_url) if attribute in _URL_ATTRIBUTES else value

    clean = nh3.clean(
        html.replace("\x00", "") if "\x00" in html else html,
        tags=_TAGS,
        clean_content_tags={"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math"},
        attributes=_ATTRIBUTES,
        attribute_filter=absolutise,
        url_schemes=_SCHEMES,
        strip_comments=True,
        link_rel="noopener noreferrer nofollow",
    )
    with _CLEAN_LOCK:
        _CLEAN[_digest(clean)] = None
        while len(_CLEAN) > _CLEAN_KEEP:
            _CLEAN.popitem(last=False)
    return clean
