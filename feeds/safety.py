"""What may reach a feed reader: sanitised HTML, no XML-illegal characters, valid UTF-8."""

from __future__ import annotations

import re

import nh3

from storage.sanitize import safe_url

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
# Direction overrides and zero-width characters: shown as a visible code, never obeyed (U+202E would
# reverse the rest of the reader's line; zero-width ones hide differences between two titles)
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
MAX_TITLE = 500  # characters; a longer "title" is a page error, not a headline
_TAGS = {"p", "br", "small", "strong", "em", "mark", "ins", "del", "a", "blockquote", "ul", "ol", "li", "img"}
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt"}}


def _safe_links(tag: str, attribute: str, value: str) -> str | None:
    """Links stay as written unless a browser would read them as another scheme (javascript:, data:)."""
    if attribute in ("href", "src") and safe_url(value, "https://example.invalid/") is None:
        return None
    return value


def clean_text(text: str) -> str:
    """Text safe inside XML (markup is not touched: for HTML content that is sanitised next)."""
    return _XML_ILLEGAL.sub("", text).encode("utf-8", "replace").decode("utf-8")


def plain_text(text: str, limit: int = MAX_TITLE) -> str:
    """A title, category or author as inert plain text: many readers render RSS titles as HTML, so
    angle brackets become look-alikes (‹script› shows, never runs), invisible and direction-changing
    characters become visible codes, and the length is bounded."""
    text = clean_text(text)[:limit]
    text = text.replace("<", "‹").replace(">", "›")
    return _INVISIBLE.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)


def clean_html(markup: str) -> str:
    """HTML that carries no script, style, frame, handler or javascript:/data: URL."""
    return nh3.clean(
        clean_text(markup),
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        attribute_filter=_safe_links,
        url_schemes={"http", "https", "mailto"},
        clean_content_tags={"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
