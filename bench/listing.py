"""List pages: the time to read the article links (with their dates) of a very long list page."""

from __future__ import annotations

import time

from bench.common import Row, verdict
from crawler.listing import TRS_ARTICLE, extract_links

TARGET_S = 1.0


def _page(links: int, flat: bool) -> str:
    row = '<a href="/spp/xwfbh/202407/t20240709_{i}.shtml">标题{i}</a> <span>2024-07-09</span>'
    if flat:  # every link in one container: the shape that made the old date search quadratic
        return "<div>" + "".join(row.format(i=i) for i in range(links)) + "</div>"
    return "<ul>" + "".join("<li>" + row.format(i=i) + "</li>" for i in range(links)) + "</ul>"


def run(quick: bool = False) -> list[Row]:
    rows = []
    for flat in (False, True):
        html = _page(5_000 if quick else 20_000, flat)
        started = time.perf_counter()
        links = extract_links(html, "https://www.spp.gov.cn/spp/xwfbh/index.shtml", patterns=[TRS_ARTICLE])
        seconds = time.perf_counter() - started
        shape = "in one <div>" if flat else "one per <li>"
        rows.append(
            Row(
                "listing",
                f"{len(links):,} links {shape}",
                f"{seconds:.2f} s",
                f"<= {TARGET_S:.0f} s",
                verdict(seconds, TARGET_S, higher_is_better=False),
            )
        )
    return rows
