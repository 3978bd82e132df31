"""Article pages to fields. Generic behaviour shared by every adapter lives here, once.

Each field is tried in order, first hit wins:

* per-source CSS selectors;
* TRS / Hanweb meta tags (``ArticleTitle``, ``PubDate``, ``ContentSource``, ``Author``) and Open Graph;
* CMS body markers (``<!--<$[信息内容]>begin-->``, ``<meta name="ContentStart">``);
* known body containers (``.TRS_Editor``, ``#fontzoom``, ``#zoom``, ``#UCAP-CONTENT`` ...);
* a text-density fallback that scores blocks by Chinese punctuation and link density.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property

from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.config import Selectors
from crawler.dates import date_from_url, labelled_date, parse_date
from crawler.normalise import clean_body, clean_inline, hash_text, matching_text, strip_pinyin
from crawler.sanitize import sanitize_html


@dataclass(frozen=True)
class ExtractedArticle:
    """The fields of one article page. Text is as published, minus page chrome."""

    url: str
    title: str
    published_at: datetime | None
    body_text: str
    body_html: str
    source_label: str | None = None
    author: str | None = None
    encoding: str | None = None
    body_method: str = ""  # which rule found the body: selector, marker, container, density

    # Computed on first use: extraction alone does not need them, storage does.
    @cached_property
    def normalised_text(self) -> str:
        """Title and body in matching form (see crawler.normalise.matching_text)."""
        return matching_text(self.title, self.body_text)

    @cached_property
    def content_hash(self) -> str:
        return hash_text(self.normalised_text)

    def with_changes(self, **changes: object) -> ExtractedArticle:
        """A copy with some fields replaced (and the hash recomputed when next asked for)."""
        return replace(self, **changes)  # type: ignore[arg-type]


class ExtractionError(ValueError):
    """The page holds no article (empty, a stub, or not HTML)."""


_MARKERS = (
    re.compile(r"<!--\s*<\$\[信息内容\]>\s*begin\s*-->(.*?)<!--\s*<\$\[信息内容\]>\s*end\s*-->", re.S | re.I),
    re.compile(r"<meta\s+name=[\"']?ContentStart[\"']?[^>]*>(.*?)<meta\s+name=[\"']?ContentEnd[\"']?", re.S | re.I),
    re.compile(r"<!--\s*ContentStart\s*-->(.*?)<!--\s*ContentEnd\s*-->", re.S | re.I),
)
CONTAINERS = (
    ".TRS_Editor",
    ".TRS_UEDITOR",
    ".trs_editor_view",
    "#fontzoom",
    "#zoom",
    "#UCAP-CONTENT",
    ".view.TRS_UEDITOR",
    "#content",
    ".article-content",
    ".article_content",
    ".content_text",
    ".detail-content",
    ".pages_content",
    "#Zoom",
    ".zoom",
    "#art_content",
    ".art_content",
    "#ArticleContent",
    ".xl_content",
    ".wzxq",
    ".detail_con",
    "article",
)
_JUNK_TAGS = "script, style, noscript, iframe, form, button, select, input, textarea, nav, object, embed, template, svg"
_CHROME_SELECTORS = (
    ".bdsharebuttonbox, .share, .bshare-custom, .fenxiang, .print, .dayin, .close, .pages-date-share, "
    "#share, .jiathis_style, .xl_fx, .prev-next, .pre-next, .sxp, #printBtn, .shareBox"
)
_TITLE_META = ("articletitle", "og:title", "title", "twitter:title")
_DATE_META = (
    "pubdate",
    "publishdate",
    "firstpublishedtime",
    "article:published_time",
    "og:release_date",
    "datepublished",
    "dc.date",
    "dc.date.issued",
    "date",
)
_SOURCE_META = ("contentsource", "source", "og:site_name_source")
_AUTHOR_META = ("author", "article:author", "dc.creator")
_TITLE_SEP = re.compile(r"\s*(?:_|\||｜|——|—|--|\s-\s|-)\s*")
_SITEY = re.compile(
    r"^.{0,20}(?:网|網|院|政府|门户|門戶|频道|頻道|首页|首頁|新闻|新聞|要闻|要聞|资讯|在线|在線|平台|栏目|动态|動態)$"
)
_SOURCE_TEXT = re.compile(r"(?:来源|來源|稿源|信息来源|文章来源)\s*[:：]\s*([^\s|｜/　]{2,40})")
_AUTHOR_TEXT = re.compile(r"(?:作者|作\s+者|撰稿)\s*[:：]\s*([^\s|｜/　]{2,30})")
_PUNCT = re.compile(r"[，。；！？、,;]")
_BLOCK_TAGS = {
    "p",
    "div",
    "br",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "section",
    "article",
    "blockquote",
    "pre",
    "dd",
    "dt",
    "ul",
    "ol",
    "hr",
}
MIN_BODY_CHARS = 20
DENSITY_CANDIDATES = 12


def extract_article(
    html: bytes | str,
    url: str,
    *,
    selectors: Selectors | None = None,
    encoding: str | None = None,
) -> ExtractedArticle:
    """Extract title, date, 来源, author and body from one article page.

    ``html`` may be bytes (decoded with :func:`crawler.decode.decode_html`) or text. Raises
    :class:`ExtractionError` when the page has no recognisable article.
    """
    if isinstance(html, bytes):
        from crawler.decode import decode_html

        decoded = decode_html(html, configured=encoding)
        html, encoding = decoded.text, decoded.encoding
    if not html.strip():
        raise ExtractionError(f"{url}: empty page")
    if html.lstrip().startswith("%PDF"):
        raise ExtractionError(f"{url}: a PDF document, not an HTML page")
    selectors = selectors or Selectors()
    tree = LexborHTMLParser(html)
    metas = _metas(tree)

    body, method = _find_body(tree, html, selectors)
    if body is None:
        raise ExtractionError(f"{url}: no article body found")
    body_text = _body_text(body, selectors)
    if len(body_text) < MIN_BODY_CHARS:
        raise ExtractionError(f"{url}: article body too short ({len(body_text)} characters)")

    title = _title(tree, metas, selectors)
    body_lines = body_text.split("\n")
    if body_lines and title and clean_inline(body_lines[0]) == title:
        body_text = "\n".join(body_lines[1:])  # the headline repeated as the first body line

    header_text = _header_text(tree, body)
    return ExtractedArticle(
        url=url,
        title=title,
        published_at=_published(tree, metas, selectors, header_text, body_text, url),
        body_text=body_text,
        body_html=sanitize_html(body.html or "", url),
        source_label=_labelled(tree, metas, selectors.source_label, _SOURCE_META, _SOURCE_TEXT, header_text, body_text),
        author=_labelled(tree, metas, selectors.author, _AUTHOR_META, _AUTHOR_TEXT, header_text, None),
        encoding=encoding,
        body_method=method,
    )


def _metas(tree: LexborHTMLParser) -> dict[str, str]:
    out: dict[str, str] = {}
    for node in tree.css("meta"):
        attrs = node.attributes
        key = (attrs.get("name") or attrs.get("property") or attrs.get("itemprop") or "").strip().lower()
        value = (attrs.get("content") or "").strip()
        if key and value and key not in out:
            out[key] = value
    return out


def _first_meta(metas: dict[str, str], keys: tuple[str, ...]) -> str | None:
    return next((metas[k] for k in keys if metas.get(k)), None)


def _select_text(tree: LexborHTMLParser, selector: str | None) -> str | None:
    if not selector:
        return None
    node = tree.css_first(selector)
    text = clean_inline(node.text(separator=" ")) if node else ""
    return text or None


# -- body ------------------------------------------------------------------------------------------


def _find_body(tree: LexborHTMLParser, html: str, selectors: Selectors) -> tuple[LexborNode | None, str]:
    if selectors.body:
        node = tree.css_first(selectors.body)
        if node is not None:
            return node, "selector"
    for marker in _MARKERS:
        match = marker.search(html)
        if match and _visible_length(match.group(1)) >= MIN_BODY_CHARS:
            fragment = LexborHTMLParser(f"<div id='procwatch-body'>{match.group(1)}</div>")
            node = fragment.css_first("#procwatch-body")
            if node is not None:
                return node, "marker"
    for selector in CONTAINERS:
        candidates = [n for n in tree.css(selector) if _link_density(n) < 0.5]
        if candidates:
            node = max(candidates, key=_visible_length_node)
            if _visible_length_node(node) >= MIN_BODY_CHARS:
                return node, "container"
    node = _densest_block(tree)
    return (node, "density") if node is not None else (None, "")


def _visible_length(fragment: str) -> int:
    return len(re.sub(r"<[^>]*>|\s+", "", fragment))


def _visible_length_node(node: LexborNode) -> int:
    return len(re.sub(r"\s+", "", node.text(deep=True)))


def _link_density(node: LexborNode) -> float:
    text = max(1, _visible_length_node(node))
    return sum(_visible_length_node(a) for a in node.css("a")) / text


def _densest_block(tree: LexborHTMLParser) -> LexborNode | None:
    """Readability-style scoring: text blocks give points to their parent and half to the grandparent."""
    scores: dict[int, float] = {}
    nodes: dict[int, LexborNode] = {}
    root = tree.body or tree.root
    if root is None:
        return None
    for block in root.css("p, td, pre, div, section, li, span, font"):
        own = "".join(child.text_content or "" for child in block.iter(include_text=True) if child.is_text_node)
        own = own.strip()
        if len(own) < 10:
            continue
        points = 1 + len(_PUNCT.findall(own)) + min(len(own) / 100, 3)
        for depth, ancestor in enumerate((block, block.parent, block.parent.parent if block.parent else None)):
            if ancestor is None or ancestor.tag in ("body", "html", None):
                continue
            key = ancestor.mem_id
            nodes[key] = ancestor
            scores[key] = scores.get(key, 0.0) + points / (1, 1, 2)[depth]
    best, best_score = None, 0.0
    # Link density costs a walk of the node's subtree: only the strongest candidates get one.
    for key in sorted(scores, key=scores.__getitem__, reverse=True)[:DENSITY_CANDIDATES]:
        node = nodes[key]
        adjusted = scores[key] * (1 - min(1.0, _link_density(node)))
        if adjusted > best_score:
            best, best_score = node, adjusted
    return best


def _body_text(node: LexborNode, selectors: Selectors) -> str:
    for junk in node.css(_JUNK_TAGS):
        junk.decompose()
    for junk in node.css(_CHROME_SELECTORS):
        junk.decompose()
    for selector in selectors.drop:
        for junk in node.css(selector):
            junk.decompose()
    return clean_body(_block_text(node))


def _block_text(node: LexborNode) -> str:
    """Text with a line break at every block boundary, as a reader sees it."""
    parts: list[str] = []
    for child in node.traverse(include_text=True):
        if child.is_text_node:
            parts.append(child.text_content or "")
        elif child.tag in _BLOCK_TAGS:
            parts.append("\n")
    return "".join(parts)


# -- title -----------------------------------------------------------------------------------------


def _title(tree: LexborHTMLParser, metas: dict[str, str], selectors: Selectors) -> str:
    picked = _select_text(tree, selectors.title)
    if picked:
        return picked
    meta = _first_meta(metas, _TITLE_META)
    page_title = _select_text(tree, "title") or ""
    if meta:
        return clean_title(clean_inline(meta), metas)
    for selector in ("h1", ".title", ".article-title", ".tit", "h2", ".xl_title", ".detail_title"):
        heading = _select_text(tree, selector)
        if heading and len(heading) >= 4 and (not page_title or heading[:4] in page_title):
            return heading
    return clean_title(page_title, metas)


def clean_title(title: str, metas: dict[str, str] | None = None) -> str:
    """Remove site suffixes: ``开班_最高人民检察院`` -> ``开班``, ``标题 - 中国长安网`` -> ``标题``."""
    title = strip_pinyin(title).strip()
    sites = {v for k, v in (metas or {}).items() if k in ("sitename", "og:site_name", "columnname")}
    while matches := list(_TITLE_SEP.finditer(title)):
        head, tail = title[: matches[-1].start()].strip(), title[matches[-1].end() :].strip()
        if not head or not (not tail or tail in sites or _SITEY.search(tail)):
            break
        title = head
    return title


# -- metadata --------------------------------------------------------------------------------------


def _header_text(tree: LexborHTMLParser, body: LexborNode) -> str:
    """Page text outside the body, where CMSs print 发布时间 / 来源 / 作者."""
    root = tree.body
    if root is None:
        return ""
    text = root.text(separator="\n")
    body_start = (body.text(separator="\n") or "").strip()[:30]
    if body_start and body_start in text:
        text = text[: text.index(body_start)]
    return text[-2000:]


def _published(
    tree: LexborHTMLParser, metas: dict[str, str], selectors: Selectors, header: str, body: str, url: str
) -> datetime | None:
    if selectors.published:
        value = parse_date(_select_text(tree, selectors.published))
        if value:
            return value
    for key in _DATE_META:
        value = parse_date(metas.get(key))
        if value:
            return value
    return (
        labelled_date(header)
        or parse_date(header[-300:])
        or labelled_date(body[:300])
        or date_from_url(url)
        or parse_date(body[:200])
    )


def _labelled(
    tree: LexborHTMLParser,
    metas: dict[str, str],
    selector: str | None,
    meta_keys: tuple[str, ...],
    pattern: re.Pattern[str],
    header: str,
    body: str | None,
) -> str | None:
    picked = _select_text(tree, selector)
    if picked:
        match = pattern.search(picked)
        return match.group(1) if match else picked
    meta = _first_meta(metas, meta_keys)
    if meta:
        return clean_inline(meta)
    for text in (header, body or ""):
        match = pattern.search(text)
        if match:
            return match.group(1).strip("()（）[]【】")
    return None
