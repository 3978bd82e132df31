"""Is a change worth telling a reader about? Boring changes are stored but not reported.

Boring: punctuation-only edits, visit counters, the page's own 'today' date, and a return to a
recent earlier version (A -> B -> A), which is recorded once and not reported again.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from storage.clock import BEIJING as _BEIJING

_PUNCT_SPACE = re.compile(r"[\s\W_]+", re.UNICODE)
_COUNTERS = re.compile(
    r"(?:浏览|阅读|点击|访问|瀏覽|閱讀|點擊|訪問)(?:次数|次數|量|数|數)?\s*[:：]?\s*\d+|\d+\s*(?:次浏览|次阅读|人阅读|次瀏覽|次閱讀)"
)
_TODAY = re.compile(r"今天是.{0,30}?(?:星期|周)[一二三四五六日天]|今天是\s*\d{4}年\d{1,2}月\d{1,2}日")


@dataclass(frozen=True)
class Significance:
    reported: bool
    reason: str  # why not reported, or "edited"


def _mask(text: str, fetched_at: datetime | None) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _COUNTERS.sub("<counter>", text)
    text = _TODAY.sub("<today>", text)
    if fetched_at is not None:
        day = fetched_at.astimezone(_BEIJING)
        for form in (f"{day:%Y-%m-%d}", f"{day.year}年{day.month}月{day.day}日", f"{day:%Y/%m/%d}"):
            text = text.replace(form, "<today>")
    return text


def classify(
    old: str, new: str, *, old_fetched: datetime | None = None, new_fetched: datetime | None = None
) -> Significance:
    """Compare two versions' texts (title and body) and say whether the change is news."""
    old_masked, new_masked = _mask(old, old_fetched), _mask(new, new_fetched)
    if old_masked == new_masked:
        return Significance(False, "only visit counters or the page's date changed")
    if _PUNCT_SPACE.sub("", old_masked) == _PUNCT_SPACE.sub("", new_masked):
        return Significance(False, "only punctuation or spacing changed")
    return Significance(True, "edited")
