"""Find campaigns (named, time-bound initiatives) and formulations (提法) in article text.

Works on the normalised form (NFKC, pinyin annotations removed, Simplified). Every word table is
data (``rules.yaml`` for the form of names, ``lexicon.yaml`` for known names); the rules are:

1. quoted terms followed by a campaign head: “甲”“乙”专项行动 gives 甲 and 乙, and a head after the
   quotes allows punctuation and length inside them (“不作为,乱作为”专项监督);
2. unquoted head-noun phrases whose left boundary is found by :mod:`crawler.campaigns.boundary`
   (words that govern a name, scope and time prefixes, pointing words): 深入推进X专项整治 -> X专项整治,
   2020年全市检察机关X专项整治 -> X专项整治, 下发专项行动 -> nothing;
3. numbered formulations (“N个X”, N大X) and “N号检察建议” (a campaign); terms that start like a
   numbered idiom (“一把手”, “一盘棋”) are metaphors, with or without a head;
4. other quoted terms only when their form says so (a head inside the quotes) or the lexicon knows
   them; the lexicon's names are also found unquoted.

A name in no lexicon is found all the same: a campaign is news precisely because it is new.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from crawler.campaigns.boundary import (
    governed_as_verb,
    has_boundary_word,
    name_start,
    starts_with_anaphora,
    strip_scope,
)
from crawler.campaigns.lexicon import Lexicon, builtin_lexicon
from crawler.campaigns.rules import NameRules, name_rules
from crawler.normalise import strip_pinyin
from storage.folding import to_simplified
from storage.kinds import CampaignKind

CAMPAIGN, FORMULATION = CampaignKind.campaign, CampaignKind.formulation

if TYPE_CHECKING:
    pass

NUMERALS = "一二三四五六七八九十两双百千万"
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff"

_QUOTED = re.compile(r"(“[^“”\n]{1,40}”|「[^「」\n]{1,40}」|『[^『』\n]{1,40}』|‘[^‘’\n]{1,40}’|\"[^\"\n]{1,40}\")")
_SUGGESTION = re.compile(r"[一二三四五六七八九十]{1,3}号检察建议")
_NUMBERED_BIG = re.compile(r"[二三四五六七八九十]大(?:攻坚战|检察|业务|战略|任务|专项行动|行动|工程|体系)")
# A two-digit number written out (十八, 二十, 三十六): before a noun, an allusion, not a count of parts.
_WRITTEN_NUMBER = re.compile(r"[二三四五六七八九]十[一二三四五六七八九]?|十[一二三四五六七八九]")
_SENTENCE = re.compile(r"[，,。；;！!？?、]")
_NAME_CHARS = re.compile(rf"[{_HAN}A-Za-z0-9+\-·]+")
_PUNCTUATED_NAME = re.compile(rf"[{_HAN}A-Za-z0-9+\-·,、 ]+")
CONTEXT_CHARS = 24
MAX_CONTEXTS = 3
LEXICON_MIN_UNQUOTED = 4  # shorter lexicon names are only taken in quotes


AddMention = Callable[..., None]  # add(name, kind, start, end, surface_forms=())


@dataclass
class Mention:
    """A campaign or formulation found in one text."""

    name: str
    kind: CampaignKind
    count: int = 0
    contexts: list[str] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list, repr=False)

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "kind": self.kind, "count": self.count, "contexts": self.contexts}


def prepare(text: str) -> str:
    """The form the extractor reads: NFKC, pinyin annotations removed, Simplified."""
    return to_simplified(unicodedata.normalize("NFKC", strip_pinyin(text)))


class CampaignExtractor:
    def __init__(self, lexicon: Lexicon | None = None, rules: NameRules | None = None):
        self.lexicon = lexicon if lexicon is not None else builtin_lexicon()
        self.rules = rules or name_rules()
        known = sorted((n for n in self.lexicon.unquoted if len(n) >= LEXICON_MIN_UNQUOTED), key=len, reverse=True)
        # 、 in a name matches the comma too: texts write enumerations either way
        patterns = [re.escape(n).replace("、", "[、,]") for n in known]
        self._lexicon_names = re.compile("|".join(patterns)) if patterns else None

    def extract(self, text: str) -> list[Mention]:
        """Mentions in ``text`` (any script), most frequent first."""
        text = prepare(text)
        found: dict[str, Mention] = {}
        aliases: dict[str, str] = {}  # surface form -> canonical name, for counting repeat mentions
        fallbacks: dict[str, str] = {}  # bare head -> the ordinal phrase it came with (第二批 + head)

        def add(name: str, kind: CampaignKind, start: int, end: int, surface: Iterable[str] = ()) -> None:
            mention = found.setdefault(name, Mention(name, kind))
            if kind == CAMPAIGN:
                mention.kind = CAMPAIGN
            mention.spans.append((start, end))
            for form in (name, *surface):
                if len(form) >= 3:
                    aliases.setdefault(form, name)

        read_ends = self._lexicon(text, add)  # where names already read end: the head rule skips them
        self._quoted(text, add, read_ends)
        self._unquoted(text, add, fallbacks, read_ends)
        self._merge_bare(found, fallbacks)
        self._count(text, found, aliases)
        return sorted(found.values(), key=lambda m: (-m.count, m.spans[0][0]))

    # -- the lexicon ------------------------------------------------------------------------------

    def _lexicon(self, text: str, add: AddMention) -> set[int]:
        """Known names, quoted or not; returns where they end, so the form rules do not re-read them."""
        ends: set[int] = set()
        if self._lexicon_names is None:
            return ends
        for match in self._lexicon_names.finditer(text):
            name = match.group(0)
            kind = self.lexicon.kind_of(name) or CAMPAIGN
            add(self._canonical(name) if kind == CAMPAIGN else name, kind, match.start(), match.end(), [name])
            ends.add(match.end())
        return ends

    # -- rules 1, 3, 4: quoted terms --------------------------------------------------------------

    def _quoted(self, text: str, add: AddMention, read_ends: set[int]) -> None:
        rules = self.rules
        matches = list(_QUOTED.finditer(text))
        index = 0
        while index < len(matches):
            # A run of adjacent quoted terms that may share one head: “检察护企”“检护民生”专项行动
            run = [matches[index]]
            while index + 1 < len(matches) and _adjacent(text, run[-1].end(), matches[index + 1].start()):
                index += 1
                run.append(matches[index])
            index += 1
            head = _head_at(text, run[-1].end(), rules.quoted_heads) or self._qualified_head(text, run[-1].end())
            for match in run:
                term = match.group(0)[1:-1].strip()
                if term in rules.unquoted_heads:  # X“大会战”: the name stands before the quotes
                    self._head_with_name(text, match.start(), term, match.end(), add)
                    continue
                if head and self._valid_quoted(term, headed=True) and not self._metaphor(term):
                    end = run[-1].end() + len(head)
                    read_ends.add(end)
                    before = name_start(text, match.start(), rules, after_head=False)
                    written = text[before : match.start()] if len(run) == 1 else ""
                    qualifier = strip_scope(written, rules)[0]
                    if qualifier:  # 违规“X”专项监督活动: the unquoted words belong to the name, head and all
                        add(qualifier + term + head, CAMPAIGN, match.start() - len(qualifier), end, [term + head])
                    else:
                        add(self._canonical(term), CAMPAIGN, match.start(), end, [term, term + head])
                    continue
                judged = self._judge_quoted(term)
                if judged:
                    name, kind = judged
                    add(name, kind, match.start(), match.end(), [term])

    def _judge_quoted(self, term: str) -> tuple[str, str] | None:
        known = self.lexicon.kind_of(term)
        if known:
            return term, known
        if _SUGGESTION.fullmatch(term):
            return term, CAMPAIGN
        if self._metaphor(term):
            return None
        inner = next((h for h in self.rules.inner_heads if term.endswith(h) and len(term) > len(h) + 1), None)
        if inner and self._valid_quoted(term, headed=True):
            return term, CAMPAIGN  # a head inside the quotes: the whole quoted term is the name
        if not self._valid_quoted(term, headed=False) or _SENTENCE.search(term):
            return None
        if self._is_numbered(term):
            return term, FORMULATION
        return None

    def _valid_quoted(self, term: str, *, headed: bool) -> bool:
        """A quoted name: plain characters; with a head after the quotes, also commas and more length."""
        if headed:
            return 2 <= len(term) <= self.rules.max_quoted and bool(_PUNCTUATED_NAME.fullmatch(term))
        return 2 <= len(term) <= 16 and bool(_NAME_CHARS.fullmatch(term))

    def _metaphor(self, term: str) -> bool:
        """“一把手工程”, “一盘棋”: a short numbered idiom, with or without a head, is a figure of speech
        (a longer core such as 万人助万企 is a name)."""
        core = next((term[: -len(h)] for h in self.rules.inner_heads if term.endswith(h) and len(term) > len(h)), term)
        return 2 <= len(core) <= 3 and core[0] in NUMERALS and core[1] in self.rules.idiom_second

    def _is_numbered(self, term: str) -> bool:
        """A numeral then a word (N个X, N大X, 一岗双责); not a date (七一) or an idiom (一亩三分地)."""
        if term[0] not in NUMERALS or len(term) > 12:
            return False
        rest = term.lstrip(NUMERALS)
        if _WRITTEN_NUMBER.fullmatch(term[: len(term) - len(rest)]):
            return False  # a written-out number and a noun (十八罗汉, 三十六计) is an allusion
        return bool(rest) and rest[0] not in self.rules.idiom_second

    def _qualified_head(self, text: str, position: int) -> str | None:
        """A head after a few qualifying words: “X”公益诉讼专项监督 -> '公益诉讼专项监督'."""
        window = text[position : position + 20]
        match = re.match(rf"([{_HAN}]{{1,12}}?)(?:{self.rules.head_pattern.pattern})", window)
        # the qualifier is a noun phrase (未成年人保护法律监督): no boundary word between quotes and head
        if match and not has_boundary_word(match.group(1), self.rules):
            return match.group(0)
        return None

    # -- rules 2, 3 (unquoted) --------------------------------------------------------------------

    def _unquoted(self, text: str, add: AddMention, fallbacks: dict[str, str], read_ends: set[int]) -> None:
        quotes = _Quotes(text)
        for match in self.rules.head_pattern.finditer(text):
            if quotes.open_at(match.start()) or match.end() in read_ends:
                continue  # quoted names and known names were read by their own rules
            self._head_with_name(text, match.start(), match.group(0), match.end(), add, fallbacks)
        for match in _SUGGESTION.finditer(text):
            add(match.group(0), CAMPAIGN, match.start(), match.end())
        for match in _NUMBERED_BIG.finditer(text):
            add(match.group(0), FORMULATION, match.start(), match.end())

    def _head_with_name(
        self,
        text: str,
        head_start: int,
        head: str,
        end: int,
        add: AddMention,
        fallbacks: dict[str, str] | None = None,
    ) -> None:
        rules = self.rules
        start = name_start(text, head_start, rules)
        if text[start - 1 : start] == "”":
            return  # “X”公益诉讼专项监督: the quoted name was taken by the quoted-term rule
        written = text[start:head_start]
        core, ordinal = strip_scope(written, rules)
        if _NUMBERED_BIG.fullmatch(core + head):
            return  # N大X攻坚战 is a numbered formulation
        if not core or starts_with_anaphora(core, rules):
            add(head, CAMPAIGN, head_start, end)  # bare: kept only if it merges below
            if ordinal and fallbacks is not None:
                fallbacks.setdefault(head, written + head)
            return
        weak = head in rules.weak_heads and (len(core) < 3 or governed_as_verb(text, head_start, rules))
        if weak or len(core) > rules.max_core or self._metaphor(core):
            return  # too long to be a name, or a common noun (系统工程, 伟大斗争, 与黑恶势力斗争)
        # An unquoted name keeps its head (X专项行动); a core the lexicon knows stands for itself.
        name = core if self.lexicon.kind_of(core) == CAMPAIGN else core + head
        add(name, CAMPAIGN, text.find(core, start), end, [written + head, core + head])

    def _merge_bare(self, found: dict[str, Mention], fallbacks: dict[str, str]) -> None:
        """A bare head joins the named campaign it abbreviates (rules.yaml: abbreviating), or is dropped."""
        for head in self.rules.unquoted_heads:
            bare = found.pop(head, None)
            if bare is None:
                continue
            longer = [m for m in found.values() if m.name.endswith(head)]
            if longer and head in self.rules.abbreviating_heads:
                max(longer, key=lambda m: len(m.spans)).spans.extend(bare.spans)
            elif head in fallbacks:
                name = fallbacks[head]
                found[name] = Mention(name, CAMPAIGN, spans=bare.spans)

    @staticmethod
    def _count(text: str, found: dict[str, Mention], aliases: dict[str, str]) -> None:
        for form in sorted(aliases, key=len, reverse=True):
            name = aliases[form]
            if name not in found:
                continue
            for match in re.finditer(re.escape(form), text):
                found[name].spans.append((match.start(), match.end()))
        for mention in found.values():
            spans = _disjoint(mention.spans)
            mention.spans, mention.count = spans, len(spans)
            mention.contexts = [_context(text, s, e) for s, e in spans[:MAX_CONTEXTS]]

    def _canonical(self, name: str) -> str:
        name = re.sub(r"[\s“”\"'‘’「」『』《》]", "", name)
        for head in self.rules.generic_heads:
            if name.endswith(head) and len(name) - len(head) >= 2:
                return name[: -len(head)]
        return name


def _adjacent(text: str, end: int, start: int) -> bool:
    return text[end:start] in ("", "、", "和", "与", "及", " ")


def _head_at(text: str, position: int, heads: tuple[str, ...]) -> str | None:
    return next((h for h in heads if text.startswith(h, position)), None)


class _Quotes:
    """Whether a position of ``text`` is inside “quotes” (more opened than closed since the line began).

    Positions are indexed once, so each question costs a few bisections, not a scan of the line: one
    long paragraph with many heads made the scan quadratic (a 3 MB article took 37 s).
    """

    def __init__(self, text: str):
        self._lines = [-1] + [m.start() for m in re.finditer("\n", text)]
        self._opens = [m.start() for m in re.finditer("“", text)]
        self._closes = [m.start() for m in re.finditer("”", text)]

    def open_at(self, position: int) -> bool:
        line_start = self._lines[bisect_left(self._lines, position) - 1] + 1

        def between(marks: list[int]) -> int:
            return bisect_left(marks, position) - bisect_left(marks, line_start)

        return between(self._opens) > between(self._closes)


def _disjoint(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(set(spans)):
        if out and start < out[-1][1]:
            continue
        out.append((start, end))
    return out


def _context(text: str, start: int, end: int) -> str:
    left = text[max(0, start - CONTEXT_CHARS) : start]
    right = text[end : end + CONTEXT_CHARS]
    return (left + text[start:end] + right).replace("\n", " ").strip()


def extract_campaigns(text: str, lexicon: Lexicon | None = None) -> list[Mention]:
    """Convenience wrapper: mentions in one text with the built-in (or given) lexicon."""
    return CampaignExtractor(lexicon).extract(text)
