"""Synthetic mirror sites with many distinct articles, for crash, concurrency and benchmark runs."""

from __future__ import annotations

import random
from importlib.resources import files

from crawler.demo.mirror import MirrorArticle, MirrorSite


def sentences() -> list[str]:
    out: list[str] = []
    for entry in (files("crawler.demo") / "texts").iterdir():
        if entry.name.endswith(".txt"):
            out += [s for s in entry.read_text("utf-8").replace("\n", "。").split("。") if len(s) > 12]
    return out


def bulk_site(count: int = 200, site_id: str = "bulk", per_page: int = 20, cms: str = "trs") -> MirrorSite:
    """A site of ``count`` articles written from the sample texts' sentences, each distinct."""
    pool = sentences()
    articles = []
    for index in range(count):
        rng = random.Random(index)
        day = 1 + index % 28
        body = "\n".join(f"{s}。" for s in rng.sample(pool, 8)) + f"\n本文编号{index}。"
        articles.append(
            MirrorArticle(
                path=f"/bulk/2024{(index % 12) + 1:02d}/t2024{(index % 12) + 1:02d}{day:02d}_{700000 + index}.shtml",
                title=f"批量测试文章第{index}号",
                published=f"2024-{(index % 12) + 1:02d}-{day:02d} 10:00:00",
                text_file="",
                body=body,
                source_label="测试来源",
            )
        )
    return MirrorSite(
        id=site_id,
        name="批量站点",
        adapter="trs",
        cms="trs",
        list_path="/bulk/index.shtml",
        articles=articles,
        per_page=per_page,
    )
