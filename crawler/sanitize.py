"""Safe article HTML: nh3 (ammonia) removes scripts, handlers and dangerous URLs; links become absolute."""

from __future__ import annotations

from urllib.parse import urljoin

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


def sanitize_html(html: str, base_url: str) -> str:
    """Keep structure and text; drop everything executable; resolve relative links against the page."""

    def absolutise(tag: str, attribute: str, value: str) -> str | None:
        if attribute in _URL_ATTRIBUTES:
            return urljoin(base_url, value.strip())
        return value

    return nh3.clean(
        html.replace("\x00", "") if "\x00" in html else html,
        tags=_TAGS,
        clean_content_tags={"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math"},
        attributes=_ATTRIBUTES,
        attribute_filter=absolutise,
        url_schemes=_SCHEMES,
        strip_comments=True,
        link_rel="noopener noreferrer nofollow",
    )
