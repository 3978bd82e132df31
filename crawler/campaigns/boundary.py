"""Where an unquoted campaign name starts: the words before its head that belong to it.

The text left of a head (专项行动, 专项整治 ...) is cut into tagged words with jieba-rs (rjieba:
jieba's dictionary and tagger in 40 MB, where jieba's Python tables took 125), then read from the
head leftwards; the name stops at the first word that cannot be part of one: a governing verb
frequent in the dictionary (确保, 传达, 担任; ``frequent_verbs.txt``), a listed boundary word (开展, 深入推进, 通报), a
pronoun, conjunction, preposition, adverb, numeral or time word, or a pointing word (该, 此次).
Scope prefixes (全省, 市委, 检察机关, 2020年, 第二批) are then stripped from its front by pattern.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files

from crawler.campaigns.rules import NameRules

# jieba part-of-speech flags that never occur inside a name: pronoun, conjunction, preposition,
# particles, adverbs, numerals and measure words, time, locality, interjections, punctuation.
_FUNCTION_FLAGS = frozenset({
    "r", "c", "p", "u", "uj", "ul", "ug", "uv", "uz", "ud", "d", "ad", "vd", "m", "mq", "q", "t", "tg", "f", "y",
    "e", "o", "x",
})  # fmt: skip
_SPLIT_FLAGS = frozenset({"r", "c", "p"})
_HAN_OR_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fffA-Za-z0-9]")


@lru_cache(maxsize=1)
def _frequent_verbs() -> frozenset[str]:
    text = files("crawler.campaigns").joinpath("frequent_verbs.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


@lru_cache(maxsize=4096)
def _words(window: str) -> tuple[tuple[str, str], ...]:
    import rjieba  # the dictionary loads on the first call: only texts with a campaign head pay for it

    words: list[tuple[str, str]] = []
    for word, flag in rjieba.tag(window):
        # A word the dictionary lacks was joined by the HMM (这是, 护企): when it opens with a pronoun,
        # conjunction or preposition (这, 该, 与, 对), that character stands apart, as jieba's tagging
        # HMM had it (a numeral stays: 三大 opens a formulation).
        if len(word) > 1 and not rjieba.has_word(word):
            ((first, first_flag),) = rjieba.tag(word[0])
            if first_flag in _SPLIT_FLAGS:
                words += [(first, first_flag), (word[1:], flag)]
                continue
        words.append((word, flag))
    return tuple(words)


def _is_boundary(word: str, flag: str, rules: NameRules, *, adjacent: bool) -> bool:
    """Whether ``word`` (tagged ``flag``) cannot belong to a name; ``adjacent``: it touches the head
    after a noun, where a frequent verb is part of a compound name."""
    if word in rules.boundary_words or word in rules.anaphora:
        return True
    if len(word) > 2 and any(w in word for w in rules.long_boundary_words):
        return True  # 认真落实, 深入推进: the segmenter's longer words around a boundary word
    if flag in _FUNCTION_FLAGS:
        return True
    if adjacent:
        return False  # a verb between a noun and the head is the name's own (…侦查专项行动, …讨薪专项行动)
    return flag.startswith("v") and flag != "vn" and word in _frequent_verbs()


def name_start(text: str, head_start: int, rules: NameRules, *, after_head: bool = True) -> int:
    """Index where the name ending in the head at ``head_start`` begins (``head_start``: no name).

    ``after_head=False`` reads the words before a quoted name, where no head protects a verb."""
    start = head_start
    while (
        start > 0
        and head_start - start < rules.max_core
        and text[start - 1] not in rules.stop_characters
        and _HAN_OR_WORD.match(text[start - 1])
    ):
        start -= 1
    return _name_start(text[start:head_start], rules, after_head=after_head)[0] + start


def _name_start(window: str, rules: NameRules, *, after_head: bool = True) -> tuple[int, str]:
    """Offset in ``window`` where the name begins, and the word just before it ("" at the edge)."""
    words = _words(window)
    position = len(window)
    for index in range(len(words) - 1, -1, -1):
        word, flag = words[index]
        # A verb touching the head belongs to the name when a noun precedes it (职务犯罪侦查 + head),
        # and governs it otherwise (要科学把握 + head).
        compound = after_head and position == len(window) and index > 0 and words[index - 1][1].startswith("n")
        if _is_boundary(word, flag, rules, adjacent=compound):
            return position, word
        position -= len(word)
    return position, ""


def has_boundary_word(phrase: str, rules: NameRules) -> bool:
    """Whether a listed boundary word, pointing word or function word stands in ``phrase`` (frequent
    verbs do not count: inside a noun phrase such as 未成年人保护 they are nominal)."""
    stops = rules.boundary_words | rules.anaphora
    return any(word in stops or flag in _FUNCTION_FLAGS for word, flag in _words(phrase))


def governed_as_verb(text: str, head_start: int, rules: NameRules) -> bool:
    """与X斗争: the word before the name makes a common-noun head a verb."""
    start = max(0, head_start - rules.max_core)
    return _name_start(text[start:head_start], rules)[1] in rules.verb_markers


def strip_scope(core: str, rules: NameRules) -> tuple[str, bool]:
    """``core`` without its scope and time prefixes (全省, 市检察院, 2020年, 第二批 ...), and whether an
    ordinal (第二批) was among them."""
    ordinal = False
    while core and (match := rules.scope.match(core)) and match.end() > 0:
        ordinal = ordinal or match.group(0).startswith("第")
        core = core[match.end() :]  # all of it a scope (全省专项行动): no name, a bare head
    if len(core) == 1 and core in rules.admin_characters:
        return "", ordinal  # 县 + head: the county's, not a name
    return core, ordinal


def starts_with_anaphora(core: str, rules: NameRules) -> bool:
    return any(core.startswith(word) for word in rules.anaphora)
