"""Article pages to fields. Generic behaviour shared by every adapter lives here, once.

Each field is tried in order, first hit wins, and the rule that found it is kept in
:attr:`ExtractedArticle.rules` (``procwatch extract`` shows them):

* title: per-source selector, the CMS ``ArticleTitle`` meta tag, the displayed headline (a heading
  that agrees with ``<title>``/``og:title``), the cleaned ``<title>``;
* date: per-source selector, the date displayed near the headline (发布时间/日期: ..., a dateline),
  the meta tags (``PubDate`` ...), the article URL; the meta date is kept too when it disagrees;
* body: see :mod:`crawler.body` (selector, CMS marker, container, density), then cut down to the
  article with :mod:`crawler.chrome`;
* 来源 and author: selector, meta tags, labelled text near the headline.

A page with a short, image-only or attachment-only body still gives a result, with a
:attr:`~ExtractedArticle.status`; only input that is not an HTML page at all raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.body import MIN_BODY_CHARS, cut_to_article, find_body, media_body, remove_furniture
from crawler.chrome import squash
from crawler.config import Selectors
from crawler.dates import date_from_url, displayed_date, parse_date
from crawler.errors import ExtractionError
from crawler.html_tree import parse_html
from crawler.normalise import clean_inline, hash_text, matching_text, strip_pinyin
from storage.sanitize import sanitize_html

ATTACHMENT_EXTENSIONS = ("pdf", "doc", "docx", "xls", "xlsx", "et", "ppt", "pptx", "wps", "ofd", "rar", "zip", "7z")
_ATTACHMENT = re.compile(r"\.(?:" + "|".join(ATTACHMENT_EXTENSIONS) + r")(?:[?#]|$)", re.IGNORECASE)


MAX_TITLE_CHARS = 1000  # a longer "title" is a page error, not a headline: kept cut, with "…"


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
    #: the meta tag's date when the page displays another one (a migration or re-publication)
    meta_published_at: datetime | None = None
    #: ok, or why the body is thin: short, media (images/video only), attachment (files only)
    status: str = "ok"
    attachments: tuple[str, ...] = ()
    #: field -> the rule that found it ("meta:articletitle", "heading:h1", "displayed", ...)
    rules: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        # one bound for every way an article is made (extraction, adapters, with_changes): a 9 MB
        # "title" was stored twice per version and made /articles/1 27 MB
        if len(self.title) > MAX_TITLE_CHARS:
            object.__setattr__(self, "title", self.title[: MAX_TITLE_CHARS - 1].rstrip() + "…")

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


_TITLE_META = ("articletitle", "og:title", "twitter:title", "title")
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
_HEADINGS = ("h1", ".article-title", ".title", ".tit", ".xl_title", ".detail_title", "h2", "h3")
_TITLE_SEP = re.compile(r"\s*(?:_|\||｜|——|—|--|\s-\s|-)\s*")
_SITEY = re.compile(
    r"^.{0,20}(?:网|網|院|政府|门户|門戶|频道|頻道|首页|首頁|新闻|新聞|要闻|要聞|资讯|在线|在線|平台|栏目|动态|動態"
    r"|中心|客户端|报|号)$|^[A-Za-z][A-Za-z .&-]{1,30}$"
)
_SOURCE_TEXT = re.compile(r"(?:来源|來源|稿源|信息来源|文章来源)\s*[:：|]\s*([^\s|｜/　]{2,40})")
_AUTHOR_TEXT = re.compile(r"(?:作者|作\s+者|撰稿)\s*[:：]\s*([^\s|｜/　]{2,30})")
_BLANK_LINES = re.compile(r"\n\s*")  # anchored on the newline: far cheaper than \s*\n\s* on a long page
HEADER_CHARS = 600  # how far above the body the displayed date and 来源 are looked for


def extract_article(
    html: bytes | str,
    url: str,
    *,
    selectors: Selectors | None = None,
    encoding: str | None = None,
) -> ExtractedArticle:
    """Extract title, dates, 来源, author, attachments and body from one article page.

    ``html`` may be bytes (decoded with :func:`crawler.decode.decode_html`) or text. Raises
    :class:`ExtractionError` only when the input is not an article page (empty, a PDF, nothing
    readable); a thin body is reported through ``status``.
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
    rules: dict[str, str] = {}
    tree = parse_html(html)
    metas = _metas(tree)
    tree.strip_tags(["script", "style", "noscript", "template"])  # unseen, and it would pollute the page text
    page_text = _BLANK_LINES.sub("\n", tree.body.text(separator="\n")) if tree.body is not None else ""

    title = _title(tree, metas, selectors, rules)
    node, method = find_body(tree, html, selectors.body, page_text=page_text, title=title)
    rules["body"] = method or "none"
    attachments: tuple[str, ...] = ()
    lines: list[str] = []
    if node is not None:
        attachments = _attachments(node.parent or node, url)
        remove_furniture(node, selectors.drop)
        lines = cut_to_article(node, title)
    if not lines and method == "density" and tree.body is not None:
        node = media_body(tree.body)  # the densest text was furniture: a poster, video or download page
        if node is not None:
            attachments = _attachments(node, url)
            rules["body"] = method = "container"
    body_text = "\n".join(lines)
    if not title and not body_text:
        raise ExtractionError(f"{url}: no article found (no headline and no text)")
    header = _header(page_text, title, lines)

    published, meta_published = _published(tree, metas, selectors, header, body_text, url, rules)
    status = _status(body_text, node, attachments)
    keep_html = node is not None and (body_text or status in ("media", "attachment"))  # the poster, the files
    return ExtractedArticle(
        url=url,
        title=title,
        published_at=published,
        body_text=body_text,
        body_html=sanitize_html(node.html or "", url) if keep_html and node is not None else "",
        source_label=_labelled(tree, metas, selectors.source_label, "source", header, rules),
        author=_labelled(tree, metas, selectors.author, "author", header, rules),
        encoding=encoding,
        body_method=method,
        meta_published_at=meta_published,
        status=status,
        attachments=attachments,
        rules=rules,
    )


def _metas(tree: LexborHTMLParser) -> dict[str, str]:
    out: dict[str, str] = {}
    top = tree.head or tree.root
    for node in top.css("meta") if top is not None else ():  # the head, not a walk of the whole page
        attrs = node.attributes
        key = (attrs.get("name") or attrs.get("property") or attrs.get("itemprop") or "").strip().lower()
        value = (attrs.get("content") or "").strip()
        if key and value and key not in out:
            out[key] = value
    return out


def _select_text(tree: LexborHTMLParser, selector: str | None) -> str | None:
    if not selector:
        return None
    node = tree.css_first(selector)
    text = clean_inline(node.text(separator=" ")) if node else ""
    return text or None


def _status(body_text: str, node: LexborNode | None, attachments: tuple[str, ...]) -> str:
    if len(body_text) >= MIN_BODY_CHARS:
        return "ok"
    if attachments:
        return "attachment"
    if node is not None and node.css_first("img, video, audio, embed, object") is not None:
        return "media"
    return "short"


def _attachments(scope: LexborNode, url: str) -> tuple[str, ...]:
    """Links to documents (PDF, Word, Excel, archives ...) in and around the body, absolute, in page order."""
    found: dict[str, None] = {}
    for link in scope.css("a[href]"):
        href = (link.attributes.get("href") or "").strip()
        if _ATTACHMENT.search(href):
            absolute = urljoin(url, href)
            if urlsplit(absolute).scheme in ("http", "https", "file"):
                found[absolute] = None
    return tuple(found)


# -- title -----------------------------------------------------------------------------------------


def _title(tree: LexborHTMLParser, metas: dict[str, str], selectors: Selectors, rules: dict[str, str]) -> str:
    picked = _select_text(tree, selectors.title)
    if picked:
        rules["title"] = "selector"
        return picked
    if metas.get("articletitle"):  # the CMS's own record of the headline
        rules["title"] = "meta:articletitle"
        return clean_inline(metas["articletitle"])
    page_title = clean_title(_select_text(tree, "title") or "", metas)
    declared = [squash(t) for t in (page_title, metas.get("og:title"), metas.get("twitter:title")) if t]
    for selector in _HEADINGS:
        for node in tree.css(selector):
            heading = clean_inline(node.text(separator=" "))
            flat = squash(heading)
            if len(flat) >= 4 and any(_agrees(flat, d) for d in declared):
                rules["title"] = f"heading:{selector}"
                return heading
    meta = metas.get("og:title") or metas.get("twitter:title")
    if meta:
        rules["title"] = "meta:og:title"
        return clean_title(clean_inline(meta), metas)
    rules["title"] = "page-title"
    return page_title


def _agrees(heading: str, declared: str) -> bool:
    """A displayed heading is the headline when the page's declared title says the same, or says it
    followed by a site suffix, or is a truncation of it."""
    if heading == declared or heading.startswith(declared.rstrip(".…")):
        return True
    if declared.startswith(heading):
        rest = declared[len(heading) :]
        return rest[0] in "_|-—｜·:(（[【" or len(heading) * 2 >= len(declared)
    return False


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


def _header(page_text: str, title: str, lines: list[str]) -> str:
    """The page text between the displayed headline and the article's first sentence: where CMSs
    print 发布时间, 来源 and 作者 (and the body's own metadata lines, already cut from the text)."""
    anchor = next((line for line in lines if len(line) >= 20), lines[0] if lines else "")
    end = page_text.find(anchor[:30]) if anchor else -1
    above = page_text[:end] if end > 0 else page_text[:HEADER_CHARS]
    at = above.rfind(title[:12]) if title else -1
    if at >= 0:
        return above[at + len(title[:12]) :][-HEADER_CHARS:]
    return above[-HEADER_CHARS // 2 :]


def _published(
    tree: LexborHTMLParser,
    metas: dict[str, str],
    selectors: Selectors,
    header: str,
    body: str,
    url: str,
    rules: dict[str, str],
) -> tuple[datetime | None, datetime | None]:
    """The displayed date, and the meta tag's date when it says something else."""
    if selectors.published:
        value = parse_date(_select_text(tree, selectors.published))
        if value:
            rules["published"] = "selector"
            return value, None
    meta_key = next((key for key in _DATE_META if parse_date(metas.get(key))), None)
    meta = parse_date(metas.get(meta_key)) if meta_key else None
    shown = displayed_date(header)
    if shown is not None:
        if meta is not None and meta.date() == shown.date() and (shown.hour, shown.minute) == (0, 0):
            rules["published"] = f"displayed+meta:{meta_key}"  # the meta tag adds the time of day
            return meta, None
        rules["published"] = "displayed"
        return shown, (meta if meta is not None and meta != shown else None)
    if meta is not None:
        rules["published"] = f"meta:{meta_key}"
        return meta, None
    for rule, value in (("url", date_from_url(url)), ("body", displayed_date(body[:200]))):
        if value is not None:
            rules["published"] = rule
            return value, None
    return None, None


_LABELLED_FIELDS = {"source": (_SOURCE_META, _SOURCE_TEXT), "author": (_AUTHOR_META, _AUTHOR_TEXT)}


def _labelled(
    tree: LexborHTMLParser,
    metas: dict[str, str],
    selector: str | None,
    name: str,
    header: str,
    rules: dict[str, str],
) -> str | None:
    """来源 or 作者 (``name``: source, author): selector, meta tags, then a label near the headline."""
    meta_keys, pattern = _LABELLED_FIELDS[name]
    picked = _select_text(tree, selector)
    if picked:
        rules[name] = "selector"
        match = pattern.search(picked)
        return match.group(1) if match else picked
    meta_key = next((key for key in meta_keys if metas.get(key)), None)
    if meta_key:
        rules[name] = f"meta:{meta_key}"
        return clean_inline(metas[meta_key])
    match = pattern.search(header)
    if match:
        rules[name] = "displayed"
        return match.group(1).strip("()（）[]【】")
    return None
