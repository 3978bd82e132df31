"""Text clean-up and the normalised form used for hashing and matching.

Two levels:

* :func:`clean_body` removes what is not the article at all (page chrome, share/print buttons,
  pinyin annotations a converter left inside words) and keeps the text as published, Traditional
  characters included.
* :func:`normalise` produces the matching form: NFKC, Traditional->Simplified (OpenCC), attribution
  lines dropped, whitespace folded. Two pages with the same normalised title and body are the same
  article, whatever site, script or markup they came in.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from crawler.chrome import is_chrome_line
from storage.folding import to_simplified

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
_PINYIN_LETTERS = f"a-zü{_TONED}"
# 協(xié)同 -> 協同: a syllable in ASCII or full-width parentheses right after a Han character.
_PINYIN_TONED = re.compile(rf"(?<=[{_CJK}])[(（]([{_PINYIN_LETTERS}]*[{_TONED}][{_PINYIN_LETTERS}]*)[)）]")
_PINYIN_ANY = re.compile(rf"(?<=[{_CJK}])[(（]([{_PINYIN_LETTERS}]{{1,6}})[)）]")
# 萬(wan) 裏: a toneless syllable of pinyin's shape, and the space some converters leave after it.
_PINYIN_PLAIN = re.compile(
    rf"(?<=[{_CJK}])[(（](?:[zcs]h|[bpmfdtnlgkhjqxrzcsyw])?[aeiouüv]{{1,3}}(?:ng|n|r)?[)）] ?(?=[{_CJK}])"
)
PLAIN_PINYIN_MIN = 3  # toneless annotations needed before any is taken for one

_WS = re.compile(r"[ \t\u00a0\u3000\u2002\u2003\u2009\u200b\ufeff]+")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")  # NUL breaks PostgreSQL, the rest XML; U+FFFD is debris
_BLANKS = re.compile(r"\n{2,}")

# Lines that credit a source: kept in the stored text, ignored when deciding "same article".
_ATTRIBUTION_LINE = re.compile(
    r"^(?:[(（【\[]?\s*(?:来源|來源|稿源|转自|轉自)\s*[:：].{0,40}[)）】\]]?|原文链接\s*[:：].*|原文鏈接\s*[:：].*"
    r"|(?:发布时间|發佈時間|发布日期)\s*[:：].{0,80}|(?:作者|作\s*者)\s*[:：].{0,30})$"
)


def strip_pinyin(text: str) -> str:
    """Remove pinyin annotations inside words: ``協(xié)同`` -> ``協同``.

    Syllables with a tone mark are always annotations. Toneless ones (``(de)``, ``萬(wan) 裏``) are
    removed when the text carries toned annotations too, or carries several toneless syllables of
    pinyin's shape, so real bracketed Latin (``附件(a)``) survives elsewhere.
    """
    stripped, count = _PINYIN_TONED.subn("", text)
    if count >= 2:
        return _PINYIN_ANY.sub("", stripped)
    plain, count = _PINYIN_PLAIN.subn("", stripped)
    return plain if count >= PLAIN_PINYIN_MIN else stripped


def is_attribution_line(line: str) -> bool:
    return bool(_ATTRIBUTION_LINE.match(line.strip()))


def clean_lines(text: str) -> list[str]:
    """Text split in lines, whitespace trimmed, empty lines dropped."""
    lines = []
    text = _CONTROL.sub("", text)
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = _WS.sub(" ", raw).strip()
        if line:
            lines.append(line)
    return lines


def clean_body(text: str) -> str:
    """Article text as published, without page chrome or pinyin annotations."""
    text = strip_pinyin(text)
    return "\n".join(line for line in clean_lines(text) if not is_chrome_line(line))


def clean_inline(text: str) -> str:
    """One-line fields (title, 来源, author): whitespace folded, annotations removed."""
    return _WS.sub(" ", _CONTROL.sub("", strip_pinyin(text)).replace("\n", " ")).strip()


def normalise(text: str) -> str:
    """The matching form: NFKC, Simplified, no chrome or attribution lines, whitespace folded."""
    text = unicodedata.normalize("NFKC", strip_pinyin(text)).replace("\ufffd", "")
    text = to_simplified(text)
    lines = [line for line in clean_lines(text) if not is_chrome_line(line) and not is_attribution_line(line)]
    return "\n".join(lines)


def matching_text(title: str, body: str) -> str:
    """Title and body in matching form: what decides whether two pages are the same article."""
    return normalise(title) + "\n\n" + normalise(body)


def hash_text(matching: str) -> str:
    return hashlib.sha256(matching.encode("utf-8")).hexdigest()


def content_hash(title: str, body: str) -> str:
    """SHA-256 of the normalised title and body: equal for the same article wherever it appears."""
    return hash_text(matching_text(title, body))
