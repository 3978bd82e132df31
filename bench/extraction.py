"""Extraction: pages/s and accuracy of extract_article against trafilatura (and GNE if installed)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.common import Row, verdict
from bench.corpus import Case, cases
from crawler.decode import decode_html
from crawler.extract import ExtractionError, extract_article

CHROME = ("分享到", "打印本页", "关闭窗口", "版权所有", "上一篇", "免责声明", "今天是", "网站标识码", "字号")
_SPACE = re.compile(r"\s+")


@dataclass
class Answer:
    title: str
    date: str
    text: str


def ours(case: Case) -> Answer:
    try:
        article = extract_article(case.html, case.url)
    except ExtractionError:
        return Answer("", "", "")
    date = article.published_at.strftime("%Y-%m-%d") if article.published_at else ""
    return Answer(article.title, date, article.body_text)


def trafilatura_extractor() -> Callable[[Case], Answer] | None:
    try:
        import trafilatura
    except ImportError:
        return None

    def run(case: Case) -> Answer:
        # trafilatura does its own decoding from bytes; give it the same bytes we get
        document = trafilatura.bare_extraction(case.html, url=case.url, with_metadata=True)
        if document is None:
            return Answer("", "", "")
        return Answer(document.title or "", document.date or "", document.text or "")

    return run


def gne_extractor() -> Callable[[Case], Answer] | None:
    try:
        from gne import GeneralNewsExtractor
    except ImportError:
        return None
    extractor = GeneralNewsExtractor()

    def run(case: Case) -> Answer:
        html = decode_html(case.html).text  # GNE needs text; give it our decoding, which it cannot do itself
        try:
            result = extractor.extract(html)
        except Exception:
            return Answer("", "", "")
        return Answer(result.get("title", ""), (result.get("publish_time") or "")[:10], result.get("content", ""))

    return run


def score(answers: list[Answer], corpus: list[Case]) -> tuple[float, float, float]:
    titles = dates = bodies = 0
    for answer, case in zip(answers, corpus, strict=True):
        text = _SPACE.sub("", answer.text)
        titles += _SPACE.sub("", answer.title) == _SPACE.sub("", case.title)
        dates += answer.date[:10] == case.date
        bodies += (
            _SPACE.sub("", case.first) in text
            and _SPACE.sub("", case.last) in text
            and not any(marker in text for marker in CHROME)
        )
    n = len(corpus)
    return titles / n, dates / n, bodies / n


def measure(extract: Callable[[Case], Answer], corpus: list[Case], rounds: int) -> tuple[float, list[Answer]]:
    answers = [extract(case) for case in corpus]  # warm-up, and the answers scored
    started = time.perf_counter()
    for _ in range(rounds):
        for case in corpus:
            extract(case)
    return rounds * len(corpus) / (time.perf_counter() - started), answers


def run(quick: bool = False) -> list[Row]:
    corpus = cases(synthetic=30 if quick else 60)
    rounds = 2 if quick else 5
    rows = []
    speed, answers = measure(ours, corpus, rounds)
    title, date, body = score(answers, corpus)
    rows.append(
        Row(
            "extraction",
            f"procwatch extract_article ({len(corpus)} pages)",
            f"{speed:.0f} pages/s",
            "",
            f"title {title:.0%}, date {date:.0%}, body {body:.0%}",
        )
    )
    for name, factory in (("trafilatura", trafilatura_extractor), ("GNE", gne_extractor)):
        peer = factory()
        if peer is None:
            rows.append(Row("extraction", f"{name}", "not installed (pip install -e '.[bench]')"))
            continue
        peer_speed, peer_answers = measure(peer, corpus, max(1, rounds // 2))
        p_title, p_date, p_body = score(peer_answers, corpus)
        rows.append(
            Row(
                "extraction",
                f"{name} (same pages)",
                f"{peer_speed:.0f} pages/s",
                "",
                f"title {p_title:.0%}, date {p_date:.0%}, body {p_body:.0%}",
            )
        )
        ratio = speed / peer_speed
        target = ">= 10x, accuracy >= peer" if name == "trafilatura" else ""
        equal_or_better = title >= p_title and date >= p_date and body >= p_body
        judged = verdict(ratio, 10.0) if name == "trafilatura" else ""
        if name == "trafilatura" and not equal_or_better:
            judged += " (accuracy below peer)"
        rows.append(Row("extraction", f"speed ratio procwatch / {name}", f"{ratio:.1f}x", target, judged))
    return rows
