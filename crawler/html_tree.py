"""HTML text to a parsed tree, with the work bounded by the size of the page.

HTML5 tree building costs time per element proportional to the depth of open elements (scope checks
walk that stack), so nesting is where a hostile page turns linear work quadratic: 100,000 nested
``<div>`` took lexbor 25 s. Browsers cap the depth (Chromium at 512) and attach deeper elements at the
cap; we do the same before parsing (:func:`bounded_nesting`): elements nested beyond :data:`MAX_DEPTH`
become siblings there, with their text, in document order. A page within the cap is parsed as sent.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

MAX_DEPTH = 512  # as Chromium's tree builder; real article pages stay under 60
# Below this many tags a page is parsed as sent: even nested throughout it costs lexbor under 0.1 s,
# and the scan (about 1 µs a tag) would cost more than it saves. Real article pages have 150-6,500.
SCAN_ABOVE = 8192

# Elements that never hold children, and those the parser closes when a sibling of their kind opens
# (<p><p>, <li><li>, <td><td>): neither can be stacked deep, so neither counts.
_NOT_NESTING = frozenset(
    (
        *("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track"),
        *("wbr", "keygen", "frame", "basefont", "bgsound"),
        *("p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "tbody", "thead", "tfoot", "colgroup"),
        *("caption", "rb", "rt", "rp", "rtc"),
    )
)
# raw-text elements (the parser reads no tags inside them) and what ends each
_RAW_TEXT = {
    name: re.compile(rf"</{name}\b", re.IGNORECASE) for name in ("script", "style", "textarea", "title", "xmp")
}
_FOREIGN = frozenset(("svg", "math"))  # where <path/> is complete in itself, as an HTML <div/> is not
# HTML tags that end foreign content: inside <svg> these open an HTML element, self-closing or not
_BREAKOUT = frozenset(
    (
        *("b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt", "em", "embed", "h1"),
        *("h2", "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li", "listing", "menu", "meta", "nobr", "ol"),
        *("p", "pre", "ruby", "s", "small", "span", "strong", "strike", "sub", "sup", "table", "tt", "u", "ul"),
        *("var", "font"),
    )
)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)|<!--")


def bounded_nesting(html: str, max_depth: int = MAX_DEPTH, scan_above: int = SCAN_ABOVE) -> str:
    """``html`` with elements nested deeper than ``max_depth`` made siblings at that depth.

    Beyond the cap each start tag first closes the element opened there before it (as Chromium
    attaches deeper elements at its cap), and end tags with nothing to close are dropped: a link
    300,000 levels down is still a link, with its text. One pass, linear in ``len(html)``; comments
    and raw-text elements (script, style ...) are skipped, as the parser skips them. Pages with at
    most ``scan_above`` tags are returned as they are.
    """
    if html.count("<") <= max(max_depth, scan_above):
        return html
    pieces: list[str] = []
    copied = 0  # html[:copied] is already in pieces
    depth = 0  # elements open within the cap
    foreign = 0  # <svg>/<math> open
    beyond = 0  # start tags seen beyond the cap and not yet ended
    flat: str | None = None  # the element open at the cap, closed by the next start tag beyond it
    position = 0
    while match := _TAG.search(html, position):
        start = match.start()
        if match[0] == "<!--":
            end = html.find("-->", start + 4)
            if end < 0:
                break
            position = end + 3
            continue
        end = html.find(">", match.end())
        if end < 0:
            break  # no tag closes after this point: nothing more can nest
        position = end + 1
        name = match[2].lower()
        if match[1]:  # an end tag
            if name in _NOT_NESTING:
                continue
            if name in _FOREIGN and foreign:
                foreign -= 1
            if beyond:
                beyond -= 1
                if name == flat:
                    flat = None  # its own end: kept
                else:
                    pieces.append(html[copied:start])  # already closed, or never opened: dropped
                    copied = position
            elif depth:
                depth -= 1
            continue
        if name in _RAW_TEXT:
            close = _RAW_TEXT[name].search(html, position)
            position = close.start() if close else len(html)
            continue
        self_closed = html[end - 1] == "/"
        if name in _NOT_NESTING or (self_closed and (name in _FOREIGN or (foreign and name not in _BREAKOUT))):
            continue
        if name in _FOREIGN:
            foreign += 1
        if depth < max_depth:
            depth += 1
            continue
        beyond += 1
        if flat is not None:
            pieces.append(html[copied:start] + f"</{flat}>")
            copied = start
        flat = name
    if not pieces:
        return html
    pieces.append(html[copied:])
    return "".join(pieces)


def parse_html(html: str) -> LexborHTMLParser:
    """The one way procwatch parses a page: lexbor, after :func:`bounded_nesting`."""
    return LexborHTMLParser(bounded_nesting(html))
