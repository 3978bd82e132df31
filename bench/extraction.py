"""Extraction on real pages: pages/s and accuracy of extract_article beside trafilatura and GNE, one run.

The pages and the scoring rules are the shared corpus's (``../shared/corpus``: real government and
news pages, labelled by hand; ``score_extraction.py``). Every extractor gets the same bytes, the same
number of passes and the same scorer; accuracy is reported per group (government portals, news
portals) because the targets differ. Without the corpus this benchmark says so and measures nothing.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from bench.common import Row, verdict

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
TARGETS = {"gov full": 0.95, "news full": 0.85, "date": 0.97, "clean": 0.95, "title": 0.97}
SPEED_RATIO = 20.0  # times trafilatura's pages/s


def scorer() -> ModuleType | None:
    """The shared scorer module, or None when ../shared is not beside the project."""
    path = CORPUS / "score_extraction.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("score_extraction", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def labelled_pages(module: ModuleType, per_group: int | None = None) -> list[dict[str, Any]]:
    """The corpus's article pages; ``per_group``: only the first few government and news pages (a smoke run)."""
    labels = yaml.safe_load((module.ROOT / "labels.yaml").read_text(encoding="utf-8"))["pages"]
    pages = [page for page in labels if page["kind"] == "article"]
    if per_group is None:
        return pages
    groups = [[p for p in pages if Path(p["file"]).name.startswith(group + "_")] for group in ("gov", "news")]
    return [page for group in groups for page in group[:per_group]]


def score(module: ModuleType, name: str, reps: int, per_group: int | None = None) -> dict[str, float]:
    """Accuracy per group and overall, and pages/s over all pages, by the shared scorer's own rules."""
    extract: Callable[..., Any] = getattr(module, f"{name}_")()
    pages = labelled_pages(module, per_group)
    overall, rate, _ = module.score_articles(name, extract, pages, reps)
    result = {**overall, "pages/s": rate}
    for group in ("gov", "news"):
        subset = [p for p in pages if Path(p["file"]).name.startswith(group + "_")]
        scores, _, _ = module.score_articles(name, extract, subset, 0)
        result[f"{group} full"] = scores["full"]
    return result


def _installed(name: str) -> bool:
    return importlib.util.find_spec({"procwatch": "crawler"}.get(name, name)) is not None


def run(quick: bool = False) -> list[Row]:
    module = scorer()
    if module is None:
        return [Row("extraction", "extract_article on real pages", f"not run: no corpus at {CORPUS}")]
    reps = 1 if quick else 5
    per_group = 4 if quick else None  # quick: a smoke run on 8 pages, figures not comparable
    results: dict[str, dict[str, float]] = {}
    rows = []
    for name in ("procwatch", "trafilatura", "gne"):
        if not _installed(name):
            rows.append(Row("extraction", name, "not installed (pip install -e '.[bench]')"))
            continue
        started = time.perf_counter()
        results[name] = score(module, name, reps, per_group)
        label = "procwatch extract_article" if name == "procwatch" else f"{name} (same pages)"
        r = results[name]
        rows.append(
            Row(
                "extraction",
                f"{label} ({len(labelled_pages(module, per_group))} real pages)",
                f"{r['pages/s']:.0f} pages/s",
                "",
                f"gov full {r['gov full']:.2f}, news full {r['news full']:.2f}, title {r['title']:.2f}, "
                f"date {r['date']:.2f}, body {r['body']:.2f}, clean {r['clean']:.2f} "
                f"({time.perf_counter() - started:.0f} s)",
            )
        )
    ours = results.get("procwatch")
    if ours:
        for figure, target in TARGETS.items():
            rows.append(
                Row(
                    "extraction",
                    f"procwatch {figure}",
                    f"{ours[figure]:.2f}",
                    f">= {target}",
                    verdict(ours[figure], target),
                )
            )
    for peer in ("trafilatura", "gne"):
        if ours and peer in results:
            ratio = ours["pages/s"] / results[peer]["pages/s"]
            better = all(ours[k] >= results[peer][k] for k in ("title", "date", "body", "clean", "full"))
            judged = verdict(ratio, SPEED_RATIO) if peer == "trafilatura" else ""
            rows.append(
                Row(
                    "extraction",
                    f"speed ratio procwatch / {peer}",
                    f"{ratio:.1f}x",
                    f">= {SPEED_RATIO:.0f}x, accuracy >= peer" if peer == "trafilatura" else "",
                    judged + ("" if better else " (accuracy below peer)"),
                )
            )
    return rows
