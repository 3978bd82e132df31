"""Campaign extraction throughput, against the cost of merely preparing the text (OpenCC + NFKC)."""

from __future__ import annotations

from importlib.resources import files

from bench.common import Row, best_of, verdict
from crawler.campaigns import CampaignExtractor, prepare

TARGET_MB_S = 2.0


def corpus() -> list[str]:
    texts = files("crawler.demo") / "texts"
    return [
        entry.read_text("utf-8")
        for entry in sorted(texts.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".txt")
    ]


def run(quick: bool = False) -> list[Row]:
    documents = corpus() * (5 if quick else 50)
    size = sum(len(d.encode("utf-8")) for d in documents)
    extractor = CampaignExtractor()
    runs = 2 if quick else 5
    best, _ = best_of(runs, lambda: [extractor.extract(d) for d in documents])
    floor, _ = best_of(runs, lambda: [prepare(d) for d in documents])
    rate = size / best / 1e6
    return [
        Row(
            "campaigns",
            f"throughput, one core ({size / 1e6:.1f} MB, {len(documents)} docs)",
            f"{rate:.1f} MB/s",
            f">= {TARGET_MB_S} MB/s",
            verdict(rate, TARGET_MB_S),
        ),
        Row("campaigns", "time share of text preparation (OpenCC t2s + NFKC)", f"{floor / best:.0%}"),
    ]
