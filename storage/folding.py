"""The folded form texts are compared and searched in: NFKC, Simplified characters, lower case.

One definition for the crawler's matching form (crawler.normalise builds on it) and the search
index, so a Traditional query finds Simplified text and the reverse.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

_SURROGATE = re.compile("[\ud800-\udfff]")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    if _SURROGATE.search(text):  # OpenCC works on UTF-8, which has no lone surrogates
        text = _SURROGATE.sub("", text)
    return _t2s().convert(text)


def fold(text: str) -> str:
    """NFKC (full-width letters and digits become ASCII), Simplified, lower case."""
    return to_simplified(unicodedata.normalize("NFKC", text)).lower()
