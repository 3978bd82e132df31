"""Finding an article's body in a page and cutting it down to the article.

Candidates, first hit wins: per-source selector, CMS body markers (``<!--<$[信息内容]>begin-->``,
``ContentStart``), known CMS containers (``.TRS_Editor``, ``#zoom`` ...), then a text-density score,
widened to the nearest ancestor named like a body (``id``/``class`` words such as ``content``,
``zoom``, ``article``) when that adds little but the rest of the body. The chosen node is then cut
down with :mod:`crawler.chrome`: the same lines are removed from the text and from the HTML, so
what a reader sees in a feed is what was hashed and scanned for campaigns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.chrome import article_span, is_chrome_line
from crawler.normalise import clean_lines, strip_pinyin

#: CMS comments around the body, each with a literal that must be in the page for the pattern to be tried
MARKERS = (
    (
        "信息内容",
        re.compile(r"<!--\s*<\$\[信息内容\]>\s*begin\s*-->(.*?)<!--\s*<\$\[信息内容\]>\s*end\s*-->", re.S | re.I),
    ),
    (
        "ContentStart",
        re.compile(r"<meta\s+name=[\"']?ContentStart[\"']?[^>]*>(.*?)<meta\s+name=[\"']?ContentEnd", re.S | re.I),
    ),
    ("ContentStart", re.compile(r"<!--\s*ContentStart\s*-->(.*?)<!--\s*ContentEnd\s*-->", re.S | re.I)),
)
#: Body containers of the CMSs the portals run, most specific first.
CONTAINERS = (
    ".TRS_Editor",
    ".TRS_UEDITOR",
    ".trs_editor_view",
    "#fontzoom",
    "#zoom",
    "#UCAP-CONTENT",
    "#zoomcon",
    "#Zoom",
    ".zoom",
    "#art_content",
    ".art_content",
    "#ArticleContent",
    ".article-content",
    ".article_content",
    ".content_text",
    ".detail-content",
    ".pages_content",
    ".xl_content",
    ".wzxq",
    ".detail_con",
)
_ANY_CONTAINER = ", ".join(CONTAINERS)
# id/class words of body containers on sites whose CMS is not in the list above.
_BODY_NAME = re.compile(
    r"(?:^|[\s_-])(?:zoom\w*|\w*content\w*|\w*article\w*|artibody|endtext|post[_-]?body|news[_-]?(?:text|con|body)"
    r"|detail\w*|text\w*|main[_-]?text|wz\w*|xl\w*|nr|zw|body\w*)(?:$|[\s_-])",
    re.IGNORECASE,
)
_NOT_BODY_NAME = re.compile(
    r"comment|footer|header|nav|menu|sidebar|side|related|recommend|share|copyright|breadcrumb|crumb|location|"
    r"pinglun|tuijian|xgwz|xgxw|fenxiang|foot|head|banner|list|hot|rank|qrcode|ewm",
    re.IGNORECASE,
)
_JUNK_TAGS = "script, style, noscript, iframe, form, button, select, input, textarea, nav, object, embed, template, svg"
_CHROME_SELECTORS = (
    ".bdsharebuttonbox, .share, .bshare-custom, .fenxiang, .print, .dayin, .close, .pages-date-share, "
    "#share, .jiathis_style, .xl_fx, .prev-next, .pre-next, .sxp, #printBtn, .shareBox"
)
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_PUNCT = re.compile(r"[，。；！？、,;]")
# fmt: off
BLOCK_TAGS = frozenset({
    "p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "table", "section", "article",
    "blockquote", "pre", "dd", "dt", "ul", "ol", "hr", "figcaption", "figure", "center",
})
# fmt: on
_MEDIA = "img, video, audio, embed, object, iframe, source"
_KEEP_EMPTY = frozenset({"br", "hr", "img", "video", "audio", "source", "td", "th", "tr", "body", "html"})
_LINE_SEP = "\ue000"  # a private-use character: not a Han character, rarely in a page
MIN_BODY_CHARS = 20
DENSITY_CANDIDATES = 12


@dataclass
class Line:
    """One line of text as a reader sees it, and the text nodes it came from."""

    text: str
    nodes: list[LexborNode] = field(default_factory=list)


def find_body(
    tree: LexborHTMLParser, html: str, selector: str | None, *, page_text: str = "", title: str = ""
) -> tuple[LexborNode | None, str]:
    """The node holding the article, and the rule that found it.

    ``page_text`` and ``title`` (the page's text and its headline) let the density rule prefer,
    among blocks of similar weight, the one that follows the headline over a sidebar.
    """
    if selector:
        node = tree.css_first(selector)
        if node is not None:
            return node, "selector"
    for literal, marker in MARKERS:
        match = marker.search(html) if literal in html else None
        if match and _visible_length(match.group(1)) >= MIN_BODY_CHARS:
            node = LexborHTMLParser(f"<div id='procwatch-body'>{match.group(1)}</div>").css_first("#procwatch-body")
            if node is not None:
                return node, "marker"
    root = tree.body or tree.root
    if root is None:
        return None, ""
    found = root.css(_ANY_CONTAINER)  # one walk of the tree, then the known containers in order among them
    for container in CONTAINERS if found else ():
        node = _best(n for n in found if n.css_matches(container) and _link_density(n) < 0.5)
        if node is not None:
            return node, "container"
    density = _densest_block(root, page_text, title)
    if density is None:
        return media_body(root), "container"
    # The densest block is often one part of the body (a run of paragraphs beside a subheading's
    # div); the nearest ancestor named like a body holds all of it, as long as it adds little else.
    limit = 3 * _prose(density)
    ancestor: LexborNode | None = density
    while ancestor is not None and ancestor.tag not in ("body", "html"):
        if _body_named(ancestor):
            if _prose(ancestor) <= limit and _link_density(ancestor) < 0.3:
                return ancestor, "container"
            break
        ancestor = ancestor.parent
    return density, "density"


def media_body(root: LexborNode) -> LexborNode | None:
    """For a page without text (a poster, a video, a file to download): the innermost container named
    like a body that holds media or links."""
    named = [n for n in root.css("div, article, section, td") if _body_named(n) and n.css_first(_MEDIA + ", a")]
    return named[-1] if named else None


def _body_named(node: LexborNode) -> bool:
    attrs = node.attributes
    name = f"{attrs.get('id') or ''} {attrs.get('class') or ''}".strip()
    return bool(name) and bool(_BODY_NAME.search(name)) and not _NOT_BODY_NAME.search(name)


def _contains(outer: LexborNode, inner: LexborNode) -> bool:
    node: LexborNode | None = inner
    while node is not None:
        if node.mem_id == outer.mem_id:
            return True
        node = node.parent
    return False


def _best(nodes: Iterable[LexborNode]) -> LexborNode | None:
    """The candidate with the most prose; of a wrapper and a candidate inside it holding nearly all
    of that prose, the inner one (the wrapper adds the headline, bylines and buttons)."""
    scored = [(prose, node) for node in nodes if (prose := _prose(node)) > 0]
    if not scored:
        return None
    best_prose, best = max(scored, key=lambda pair: pair[0])
    for prose, node in scored:
        if node is not best and prose >= 0.85 * best_prose and _contains(best, node):
            best, best_prose = node, prose  # nodes come in document order: later ones are deeper
    return best if _visible_length_node(best) >= MIN_BODY_CHARS else None


def _prose(node: LexborNode) -> float:
    """Sentence punctuation outside links: how much running text a node holds."""
    text = node.text(deep=True)
    linked = sum(len(_PUNCT.findall(a.text(deep=True))) for a in node.css("a"))
    return len(_PUNCT.findall(text)) - linked + len(text) / 1000


def _visible_length(fragment: str) -> int:
    return len(re.sub(r"<[^>]*>|\s+", "", fragment))


def _visible_length_node(node: LexborNode) -> int:
    return len("".join(node.text(deep=True).split()))


def _link_density(node: LexborNode) -> float:
    text = max(1, _visible_length_node(node))
    linked = "".join(a.text(deep=True) for a in node.css("a"))
    return len("".join(linked.split())) / text


def _densest_block(root: LexborNode, page_text: str = "", title: str = "") -> LexborNode | None:
    """Readability-style scoring: text blocks give points to their parent and half to the grandparent.

    Of the blocks scoring at least a third of the best, the first one after the headline wins:
    a short article keeps its place against a long sidebar or comment thread below it.
    """
    scores: dict[int, float] = {}
    nodes: dict[int, LexborNode] = {}
    for block in root.css("p, td, pre, div, section, li, span, font"):
        own = block.text(deep=False)
        if len(own) < 10 or len(own := own.strip()) < 10:
            continue
        points = 1 + len(_PUNCT.findall(own)) + min(len(own) / 100, 3)
        parent = block.parent
        grandparent = parent.parent if parent is not None else None
        for ancestor, share in ((block, points), (parent, points), (grandparent, points / 2)):
            if ancestor is None or ancestor.tag in ("body", "html", None):
                continue
            key = ancestor.mem_id
            nodes[key] = ancestor
            scores[key] = scores.get(key, 0.0) + share
    # Link density costs a walk of the node's subtree: only the strongest candidates get one.
    ranked = []
    for key in sorted(scores, key=scores.__getitem__, reverse=True)[:DENSITY_CANDIDATES]:
        node = nodes[key]
        ranked.append((scores[key] * (1 - min(1.0, _link_density(node))), node))
    if not ranked:
        return None
    best_score, best = max(ranked, key=lambda pair: pair[0])
    headline = page_text.find(title[:12]) if title and page_text else -1
    if headline < 0 or best_score <= 0:
        return best if best_score > 0 else None
    placed = []
    for score, node in ranked:
        if score >= best_score / 3 and (at := page_text.find(_opening(node), headline)) >= 0:
            placed.append((at, -score, node))
    return min(placed, key=lambda item: item[:2])[2] if placed else best


def _opening(node: LexborNode) -> str:
    """The first words of a node, as they appear in the page text."""
    for child in node.traverse(include_text=True):
        if child.is_text_node and (text := (child.text_content or "").strip()):
            return text[:20]
    return ""


# -- cutting the body down to the article ------------------------------------------------------------


def remove_furniture(node: LexborNode, drop: list[str]) -> None:
    """Scripts, forms, hidden elements, share/print widgets and the source's own ``drop`` selectors."""
    # Innermost first (reverse document order): a match inside another is never touched after its
    # ancestor is gone.
    for selector in (f"{_JUNK_TAGS}, {_CHROME_SELECTORS}", *drop):  # one walk for the built-in selectors
        for junk in reversed(node.css(selector)):
            junk.decompose()
    for hidden in reversed(node.css("[style], [hidden]")):
        if "hidden" in hidden.attributes or _HIDDEN.search(hidden.attributes.get("style") or ""):
            hidden.decompose()


def block_lines(node: LexborNode) -> list[Line]:
    """The node's text split where a reader sees line breaks, each line with its text nodes."""
    lines: list[Line] = []
    current = Line("")
    for child in node.traverse(include_text=True):
        if child.is_text_node:
            current.text += child.text_content or ""
            current.nodes.append(child)
        elif child.tag in BLOCK_TAGS and current.nodes:
            lines.append(current)
            current = Line("")
    if current.nodes:
        lines.append(current)
    # Pinyin and control characters are cleaned in one pass over all lines, not line by line.
    separator = _separator(lines)
    texts = strip_pinyin(separator.join(line.text for line in lines)).split(separator)
    out = []
    for line, text in zip(lines, texts, strict=True):
        for part in clean_lines(text):
            out.append(Line(part, line.nodes))
    return out


def _separator(lines: list[Line]) -> str:
    """A character in none of the lines: a page may hold any private-use character itself (GB18030
    maps some of its codes there), and one inside a line would split it in two."""
    candidate = _LINE_SEP
    while any(candidate in line.text for line in lines):
        candidate = chr(ord(candidate) + 1)  # stays in the private-use area: not Han, not pinyin
    return candidate


def cut_to_article(node: LexborNode, title: str) -> list[str]:
    """Cut ``node`` down to the article (see :func:`crawler.chrome.article_span`); returns its lines."""
    lines = block_lines(node)
    start, end = article_span([line.text for line in lines], title)
    kept = [line for line in lines[start:end] if not is_chrome_line(line.text)]
    if not kept:
        return []
    # One DOM line can give several text lines: a node is removed only when none of its lines is kept.
    kept_nodes = {text_node.mem_id for line in kept for text_node in line.nodes}
    # Dropped lines inside the article first, while every node is still alive; then the cuts at both
    # ends, which only ever start from kept nodes.
    emptied = []
    for line in lines[start:end]:
        for text_node in line.nodes:
            if text_node.mem_id not in kept_nodes:
                emptied.append(text_node.parent)
                text_node.decompose()
    _prune_empty([parent for parent in emptied if parent is not None], node)
    if end < len(lines):
        _remove_after(kept[-1].nodes[-1], node)  # the QR image before its caption goes too
    if start > 0:
        _remove_before(kept[0].nodes[0], node)
    return [line.text for line in kept]


def _remove_after(last: LexborNode, root: LexborNode) -> None:
    """Remove everything after ``last`` in document order, up to the end of ``root``."""
    node: LexborNode | None = last
    while node is not None and node.mem_id != root.mem_id:
        sibling = node.next
        while sibling is not None:
            following = sibling.next
            sibling.decompose()
            sibling = following
        node = node.parent


def _remove_before(first: LexborNode, root: LexborNode) -> None:
    """Remove the text before ``first`` in document order, from the start of ``root``; a lead photo
    (an element with media and no text) stays."""
    node: LexborNode | None = first
    while node is not None and node.mem_id != root.mem_id:
        sibling = node.prev
        while sibling is not None:
            preceding = sibling.prev
            if (sibling.text(deep=True) or "").strip() or sibling.css_first(_MEDIA) is None:
                sibling.decompose()
            sibling = preceding
        node = node.parent


def _depth(node: LexborNode) -> int:
    depth = 0
    parent = node.parent
    while parent is not None:
        depth, parent = depth + 1, parent.parent
    return depth


def _prune_empty(elements: list[LexborNode], root: LexborNode) -> None:
    """Remove the shells of removed lines: each element left with neither text nor media, and its
    ancestors that become empty in turn (never ``root``)."""
    seen: set[int] = set()
    # Deepest first: an element is looked at before any ancestor of it can have been removed.
    for element in sorted({e.mem_id: e for e in elements}.values(), key=_depth, reverse=True):
        node: LexborNode | None = element
        while node is not None and node.mem_id != root.mem_id and node.mem_id not in seen:
            seen.add(node.mem_id)
            if node.tag in _KEEP_EMPTY or (node.text(deep=True) or "").strip() or node.css_first(_MEDIA) is not None:
                break
            parent = node.parent
            node.decompose()
            node = parent
