"""List (column) pages to article links and further list pages."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import urljoin, urlsplit, urlunsplit

from publicsuffixlist import PublicSuffixList
from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.dates import parse_date
from crawler.html_tree import parse_html
from crawler.normalise import clean_inline

TRS_ARTICLE = re.compile(r"/(?:\d{6}/)?t\d{8}_\d+\.s?html?$", re.I)  # /202211/t20221130_3898030.shtml
HANWEB_ARTICLE = re.compile(r"/art/\d{4}/\d{1,2}/\d{1,2}/art_\d+_\d+\.html?$", re.I)
CONTENT_ARTICLE = re.compile(r"/content_\d+\.s?html?$", re.I)  # /c100007/2022-05/10/content_123.shtml
DATED_ARTICLE = re.compile(r"/(?:\d{4}-?\d{2}/\d{2}|\d{8}|\d{4}/\d{4})/[^/]+\.s?html?$", re.I)

_CREATE_PAGE = re.compile(
    r"createPageHTML\(\s*['\"]?(\d+)['\"]?\s*,\s*['\"]?(\d+)['\"]?\s*,\s*['\"]([\w-]+)['\"]\s*,\s*['\"](\w+)['\"]"
)
_COUNT_PAGE = re.compile(r"(?:countPage|totalPage|pageCount)\s*=\s*['\"]?(\d+)")
_NEXT_TEXT = re.compile(r"^(?:下一页|下页|后页|>|›|»|next)$", re.I)


@dataclass(frozen=True)
class ListedLink:
    """An article link as a list page shows it."""

    url: str
    title: str
    listed_at: datetime | None


MAX_URL = 2048  # the URL columns' size


def clean_url(href: str, base: str) -> str | None:
    """Absolute http(s) URL without fragment and with ``//`` in the path collapsed; None if unusable."""
    href = href.strip()
    if not href or href.startswith(("javascript:", "mailto:", "tel:", "#", "data:")):
        return None
    parts = urlsplit(urljoin(base, href))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    path = re.sub(r"/{2,}", "/", parts.path) or "/"
    url = urlunsplit((parts.scheme, parts.netloc.lower(), path, parts.query, ""))
    return url if len(url) <= MAX_URL else None  # no article lives at a 2 KB address; storage keys stop there


# The list shipped inside the package (dated in its version): read once, never fetched at run time.
_SUFFIXES = PublicSuffixList()
_LOCAL = ("127.0.0.1", "localhost", "::1")


@lru_cache(maxsize=4096)
def site_key(host: str) -> str:
    """The registrable domain that identifies a site, by the public-suffix list: ``www.spp.gov.cn`` and
    ``news.spp.gov.cn`` -> ``spp.gov.cn``, but ``www.gov.cn`` stays itself (gov.cn is a public suffix,
    shared by every ministry and province). An IP address or a bare suffix is its own site."""
    host = (urlsplit(f"//{host}").hostname or "").rstrip(".")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    return _SUFFIXES.privatesuffix(host) or host


def same_site(url: str, other: str) -> bool:
    a, b = urlsplit(url), urlsplit(other)
    if a.hostname in _LOCAL or b.hostname in _LOCAL:
        return a.netloc == b.netloc  # local mirrors tell sites apart by port
    return site_key(a.netloc) == site_key(b.netloc)


def on_source_sites(link: str, list_url: str, homepage: str | None, hosts: Sequence[str]) -> bool:
    """A link on the list page's site, the homepage's, or a host the source names (or a subdomain of
    it): the only pages a crawl of that source follows, whatever its adapter found."""
    if same_site(link, list_url) or (homepage and same_site(link, homepage)):
        return True
    host = (urlsplit(link).hostname or "").lower()
    return any(host == h.lower() or host.endswith("." + h.lower()) for h in hosts)


ROW_CHARS = 300  # a row holding one link and its date is short; longer text is a whole list


def _nearby_date(anchor: LexborNode, rows: dict[int, datetime | bool | None]) -> datetime | None:
    """The date printed in the row (<li>/<tr>/<div>) that holds the link. ``rows`` remembers each
    ancestor already read, so a page whose links share one big container is read once, not once per
    link (20,000 links in one <div> took minutes)."""
    node: LexborNode | None = anchor
    for _ in range(3):
        node = node.parent if node is not None else None
        if node is None or node.tag in ("ul", "ol", "table", "tbody", "body"):
            return None
        key = node.mem_id
        if key not in rows:
            text = node.text(separator=" ")
            rows[key] = parse_date(text) if len(text) <= ROW_CHARS else False  # False: a container, stop
        found = rows[key]
        if found is False:
            return None
        if found:
            return found  # type: ignore[return-value]
    return None


def extract_links(
    html: str,
    page_url: str,
    *,
    patterns: Iterable[re.Pattern[str]],
    selector: str | None = None,
    container: LexborHTMLParser | None = None,
) -> list[ListedLink]:
    """Article links on a list page, in page order, without duplicates.

    With ``selector``, every link it matches is an article; otherwise a link must be on the same site
    and its path must match one of ``patterns``.
    """
    tree = container or parse_html(html)
    patterns = tuple(patterns)
    anchors = tree.css(selector) if selector else tree.css("a[href]")
    seen: set[str] = set()
    rows: dict[int, datetime | bool | None] = {}
    links = []
    for anchor in anchors:
        if anchor.tag != "a":
            anchor = anchor.css_first("a[href]") or anchor
        url = clean_url(anchor.attributes.get("href") or "", page_url)
        if url is None or url in seen or not same_site(url, page_url):
            continue
        if not selector and not any(p.search(urlsplit(url).path) for p in patterns):
            continue
        seen.add(url)
        title = clean_inline(anchor.attributes.get("title") or anchor.text(separator=" "))
        links.append(ListedLink(url=url, title=title, listed_at=_nearby_date(anchor, rows)))
    return links


def next_pages(html: str, page_url: str, wanted: int, container: LexborHTMLParser | None = None) -> list[str]:
    """Up to ``wanted`` further list pages after this one, read from the pager.

    TRS writes ``createPageHTML(total, current, "index", "shtml")`` for ``index_1.shtml``...;
    other CMSs link ``下一页``.
    """
    if wanted <= 0:
        return []
    match = _CREATE_PAGE.search(html)
    if match:
        total, current, stem, ext = int(match.group(1)), int(match.group(2)), match.group(3), match.group(4)
        pages = range(current + 1, min(total, current + 1 + wanted))
        return [urljoin(page_url, f"{stem}_{n}.{ext}") for n in pages]
    tree = container or parse_html(html)
    for anchor in tree.css("a[href]"):
        if _NEXT_TEXT.match(clean_inline(anchor.text(separator=" "))):
            url = clean_url(anchor.attributes.get("href") or "", page_url)
            if url and url != page_url and same_site(url, page_url):
                return [url]
    count = _COUNT_PAGE.search(html)
    if count and re.search(r"/index\.s?html?$", urlsplit(page_url).path):
        ext = page_url.rsplit(".", 1)[-1]
        return [urljoin(page_url, f"index_{n}.{ext}") for n in range(1, min(int(count.group(1)), wanted + 1))]
    return []
