"""大汉 Hanweb sites: ``/art/2016/11/22/art_1621004_30332664.html``, bodies in ``#zoom``.

Hanweb list pages often carry no links in their HTML at all: the records sit in a
``<script type="text/xml"><datastore><recordset><record><![CDATA[<li>...</li>]]></record>``
block that the site's JavaScript pages through. This adapter is the worked example of the
subclass API: it overrides :meth:`parse_list` to read those records too.
"""

from __future__ import annotations

import re

from crawler.adapters.base import Adapter, ListPage, register
from crawler.listing import HANWEB_ARTICLE, TRS_ARTICLE, extract_links

_RECORD_START = re.compile(r"<record>\s*<!\[CDATA\[", re.I)
_RECORD_END = re.compile(r"\]\]>\s*</record>", re.I)
_TOTAL = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>", re.I)


@register("hanweb")
class HanwebAdapter(Adapter):
    article_patterns = (HANWEB_ARTICLE, TRS_ARTICLE)

    def parse_list(self, html: str, url: str, *, backfill: int = 0) -> ListPage:
        page = super().parse_list(html, url, backfill=backfill)
        records = "".join(_records(html))
        if not records:
            return page
        known = {link.url for link in page.links}
        embedded = extract_links(records, url, patterns=self.article_patterns, selector=self.source.selectors.links)
        return ListPage(page.links + [link for link in embedded if link.url not in known], page.next_pages)


def _records(html: str) -> list[str]:
    """The CDATA of each ``<record>``, in one forward pass (a lazy pattern rescans the rest of the
    page from every unclosed record: 10 s for 170 KB of them)."""
    found = []
    position = 0
    while start := _RECORD_START.search(html, position):
        end = _RECORD_END.search(html, start.end())
        if end is None:
            break
        found.append(html[start.end() : end.start()])
        position = end.end()
    return found
