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
from functools import lru_cache

import opencc

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
_PINYIN_LETTERS = f"a-zü{_TONED}"
# 協(xié)同 -> 協同: a syllable in ASCII or full-width parentheses right after a Han character.
_PINYIN_TONED = re.compile(rf"(?<=[{_CJK}])[(（]([{_PINYIN_LETTERS}]*[{_TONED}][{_PINYIN_LETTERS}]*)[)）]")
_PINYIN_ANY = re.compile(rf"(?<=[{_CJK}])[(（]([{_PINYIN_LETTERS}]{{1,6}})[)）]")

_WS = re.compile(r"[ \t\u00a0\u3000\u2002\u2003\u2009\u200b\ufeff]+")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")  # NUL breaks PostgreSQL, the rest XML; U+FFFD is debris
_BLANKS = re.compile(r"\n{2,}")

# Lines that are page furniture, never article text: recognised by how they start...
_CHROME_PREFIX = re.compile(
    r"""^(?:
        .{0,8}(?:上一篇|下一篇|上一条|下一条)\s*[:：>]
      | \[?【?免责声明】?\]?
      | 推荐访问 | 最新推荐\s*$ | 相关(?:链接|文章|新闻|阅读)\s*$
      | .{0,30}版权所有 | Copyright | ©
      | 责任编辑\s*[:：] | 【?编辑\s*[:：].{0,20}$
      | 今天是
      | 本网部分转载文章 | 本网站?所刊登
      | 当前位置\s*[:：]
    )""",
    re.VERBOSE | re.IGNORECASE,
)
# ...or by consisting of nothing but button labels ("分享到:微信 微博", "【打印本页】 【关闭窗口】").
_CHROME_WORDS = re.compile(
    r"分享到|分享至|QQ空间|朋友圈|打印本页|关闭窗口|返回顶部|收藏本页|加入收藏|设为首页|网站地图|支持IPv6(?:网络)?"
    r"|网站无障碍|无障碍浏览|适老化(?:服务)?|扫一扫|手机扫码|浏览次数|阅读次数|字号|字体"
)
_CHROME_FILLER = re.compile(r"微信|微博|打印|关闭|默认|[大中小]|A\+?-?|\d+|[\s【】\[\]:：|/()（）>»·,，、\-]+")

# Lines that credit a source: kept in the stored text, ignored when deciding "same article".
_ATTRIBUTION_LINE = re.compile(
    r"^(?:[(（【\[]?\s*(?:来源|來源|稿源|转自|轉自)\s*[:：].{0,40}[)）】\]]?|原文链接\s*[:：].*|原文鏈接\s*[:：].*"
    r"|(?:发布时间|發佈時間|发布日期)\s*[:：].{0,80}|(?:作者|作\s*者)\s*[:：].{0,30})$"
)


def strip_pinyin(text: str) -> str:
    """Remove pinyin annotations inside words: ``協(xié)同`` -> ``協同``.

    Syllables with a tone mark are always annotations. Toneless ones (``(de)``) are removed only
    when the text carries toned annotations too, so real bracketed Latin survives elsewhere.
    """
    stripped, count = _PINYIN_TONED.subn("", text)
    if count >= 2:
        stripped = _PINYIN_ANY.sub("", stripped)
    return stripped


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


def is_chrome_line(line: str) -> bool:
    line = line.strip()
    if _CHROME_PREFIX.match(line):
        return True
    if len(line) > 60 or not _CHROME_WORDS.search(line):
        return False
    return not _CHROME_FILLER.sub("", _CHROME_WORDS.sub("", line))


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
