"""Page chrome: which lines of an extracted body are furniture rather than article.

One mechanism for every site: the phrases live in ``chrome.yaml`` beside this module (QR and
print captions, related-article boxes, credit lines, metadata tables), and the rules here decide
by a line's position what such a phrase means. A phrase opening a line near the top is metadata;
one after the article's text ends it; credit lines are peeled off the end.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import yaml

from crawler.dates import DATE

_SPACE = re.compile(r"\s+")
_LEAD = re.compile(r"^[-–—>»›·•*=~+\[]+")
_WORD = re.compile(r"[^\W_]")
_BREADCRUMB = re.compile(r"[>»›＞]")
_SENTENCE_END = re.compile(r"[。！？!?；;]")
#: lines longer than this are prose, whatever they start with
HEAD_MAX = 80
CREDIT_MAX = 100
FOOTER_MAX = 60


@lru_cache(maxsize=4096)  # the same lines are asked about by several rules
def squash(text: str) -> str:
    """The form phrases are compared in: NFKC, no whitespace, no leading bullets or arrows (``- >>上一篇``)."""
    return _LEAD.sub("", _SPACE.sub("", unicodedata.normalize("NFKC", text)))


@dataclass(frozen=True)
class ChromeRules:
    end: tuple[str, ...]
    tail_end: tuple[str, ...]
    credits: tuple[str, ...]
    head: tuple[str, ...]
    lines: tuple[str, ...]
    footer: tuple[str, ...]
    navigation: frozenset[str]
    promo: tuple[str, ...]
    buttons: re.Pattern[str]


@lru_cache(maxsize=1)
def rules() -> ChromeRules:
    """The shipped phrase lists (``crawler/chrome.yaml``), squashed once."""
    data = yaml.safe_load(files("crawler").joinpath("chrome.yaml").read_text(encoding="utf-8"))

    def phrases(key: str) -> tuple[str, ...]:
        return tuple(squash(str(item)) for item in data[key])

    # Longest first, so 打印本页 is consumed whole before 打印.
    words = sorted(phrases("buttons"), key=len, reverse=True)
    buttons = re.compile(r"(?:" + "|".join(map(re.escape, words)) + r"|[\d\W_A-Za-z]|\+)+", re.IGNORECASE)
    return ChromeRules(
        end=phrases("end"),
        tail_end=phrases("tail_end"),
        credits=phrases("credits"),
        head=phrases("head"),
        lines=phrases("lines"),
        footer=phrases("footer"),
        navigation=frozenset(phrases("navigation")),
        promo=phrases("promo"),
        buttons=buttons,
    )


def _is_button_row(flat: str) -> bool:
    """Nothing but button labels, counters and separators; at least one Han button word."""
    return bool(flat) and len(flat) <= FOOTER_MAX and rules().buttons.fullmatch(flat) is not None and (
        re.search(r"[\u4e00-\u9fff]", flat) is not None
    )


def is_chrome_line(line: str) -> bool:
    """Furniture wherever it stands: button rows, footers, 上一篇/下一篇, 当前位置 ..."""
    flat = squash(line)
    if not _WORD.search(flat):
        return True  # brackets and separators left over from a button row
    r = rules()
    if flat.startswith(r.lines) or flat.startswith(r.end):
        return True
    if len(flat) <= FOOTER_MAX and any(phrase in flat for phrase in r.footer):
        return True
    return _is_button_row(flat)


def is_credit_line(line: str) -> bool:
    """An editor, proofreader, reposting source or original-headline line, or a follow-us promotion."""
    flat = squash(line)
    r = rules()
    return len(flat) <= CREDIT_MAX and (flat.startswith(r.credits) or any(phrase in flat for phrase in r.promo))


def _is_head_line(flat: str) -> bool:
    if not flat:
        return True
    if len(flat) > HEAD_MAX:
        return False
    r = rules()
    if flat.startswith(r.head) or flat.startswith(r.credits) or _is_button_row(flat):
        return True
    undated = DATE.sub("", flat, count=1).lstrip("分秒")  # 2024年12月07日08时01分
    if undated != flat and (not undated or undated.startswith(r.head) or undated.startswith(r.credits)):
        return True
    if flat in r.navigation or flat[0] in ">»›＞":
        return True
    # a breadcrumb: 首页 > 新闻 > 要闻, short segments and no sentence
    return bool(_BREADCRUMB.search(flat)) and not _SENTENCE_END.search(flat) and len(flat) <= 40


def _headline_lines(flats: list[str], index: int, title: str) -> int:
    """How many lines from ``index`` spell the headline (a long headline is often shown on two lines)."""
    joined = ""
    for count, flat in enumerate(flats[index : index + 3], start=1):
        joined += flat
        if joined == title:
            return count
        if not title.startswith(joined):
            return 0
    return 0


def _prose(flat: str) -> int:
    """Characters of running text on a line (0 for metadata and short labels)."""
    if _is_head_line(flat) or not (len(flat) >= 20 or _SENTENCE_END.search(flat)):
        return 0
    return len(flat)


def article_span(lines: list[str], title: str = "") -> tuple[int, int]:
    """The ``[start, end)`` range of ``lines`` that is the article.

    ``end`` phrases (QR captions, related-article boxes, 上一篇 ...) split the lines into segments;
    the article is the segment with the most running text, so a promotion box above the article
    and everything below it both fall away. Metadata lines opening the segment and credit lines
    closing it are then peeled off.
    """
    flat_title = squash(title)
    flats = [squash(line) for line in lines]
    prose = [_prose(flat) for flat in flats]
    r = rules()
    markers = [index for index, flat in enumerate(flats) if flat.startswith(r.end)]
    bounds = list(zip([0] + [m + 1 for m in markers], [*markers, len(flats)], strict=True))
    start, end = max(bounds, key=lambda b: sum(prose[b[0] : b[1]]))
    first = start
    if start > 0:  # the article follows a box (相关新闻: ...): the box's link titles are no prose
        while start < end and not prose[start] and not flats[start].endswith(":"):
            start += 1
    while start < end:
        if taken := _headline_lines(flats, start, flat_title):
            start += taken
        elif _is_head_line(flats[start]):
            label_only = flats[start].endswith(":") and len(flats[start]) <= 8
            start += 2 if label_only else 1  # "来源:" on its own line: the value follows
        else:
            break
    if start >= end:
        start = first  # everything looked like metadata: keep the page rather than nothing
    prose_after = [False] * (end + 1)  # prose_after[i]: running text somewhere in lines[i:end]
    for index in range(end - 1, start - 1, -1):
        prose_after[index] = prose_after[index + 1] or bool(prose[index])
    end = next(
        (i for i in range(start + 1, end) if flats[i].startswith(r.tail_end) and not prose_after[i + 1]), end
    )
    while end - 1 > start:
        if is_credit_line(lines[end - 1]) or is_chrome_line(lines[end - 1]):
            end -= 1
        elif end - 2 > start and is_credit_line(lines[end - 2]) and len(flats[end - 1]) <= 12 and not (
            _SENTENCE_END.search(flats[end - 1])
        ):
            end -= 2  # a credit and its continuation ("信息来源于网络" / "经过重新编排")
        else:
            break
    return start, end
