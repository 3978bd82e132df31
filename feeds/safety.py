"""What may reach a feed reader: inert titles, no XML-illegal characters, valid UTF-8."""

from __future__ import annotations

import re

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
# Direction overrides and zero-width characters: shown as a visible code, never obeyed (U+202E would
# reverse the rest of the reader's line; zero-width ones hide differences between two titles)
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
MAX_TITLE = 500  # characters; a longer "title" is a page error, not a headline


def clean_text(text: str) -> str:
    """Text safe inside XML (markup is not touched)."""
    return _XML_ILLEGAL.sub("", text).encode("utf-8", "replace").decode("utf-8")


def plain_text(text: str, limit: int = MAX_TITLE) -> str:
    """A title, category or author as inert plain text: many readers render RSS titles as HTML, so
    angle brackets become look-alikes (‹script› shows, never runs), invisible and direction-changing
    characters become visible codes, and the length is bounded."""
    text = clean_text(text)[:limit]
    text = text.replace("<", "‹").replace(">", "›")
    return _INVISIBLE.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)


def feed_html(markup: str) -> str:
    """An item's HTML as the feed kinds build it: procwatch's own tags around text escaped with
    ``html.escape`` (never a page's markup: what the portal served is sanitised once, when stored,
    and feeds use its text). Safe by construction; what is left is keeping it legal inside XML."""
    return clean_text(markup)
