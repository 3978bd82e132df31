"""Find campaigns (named, time-bound initiatives) and formulations (提法) in article text.

Works on the normalised form (NFKC, pinyin annotations removed, Simplified), with four rules:

1. quoted terms followed by a campaign head: “检察护企”“检护民生”专项行动, “检察为民办实事”实践活动;
2. unquoted head-noun phrases with a left boundary found by stop words and verbs: 深入推进政法队伍教育整顿
   -> 政法队伍教育整顿, 持续深化司法工作人员职务犯罪侦查百日攻坚 -> 司法工作人员职务犯罪侦查百日攻坚;
3. numbered formulations: “四个意识”, “一岗双责”, 三大攻坚战, “一号检察建议” (a campaign);
4. other quoted terms only when their form says so (a head inside the quotes) or the lexicon knows them;
   quoted ordinary words (“清仓”), metaphors (“晴雨表”) and sentences are left alone.

A name in no lexicon is found all the same: a campaign is news precisely because it is new.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from crawler.campaigns.lexicon import Lexicon, builtin_lexicon, load_lexicon
from crawler.normalise import strip_pinyin, to_simplified

if TYPE_CHECKING:
    from crawler.config import Config

NUMERALS = "一二三四五六七八九十两双百千万"
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff"

# Heads that make a quoted term a campaign (“清朗”行动) ...
QUOTED_HEADS = (
    "专项行动",
    "专项监督",
    "专项整治",
    "专项斗争",
    "专项活动",
    "专项工作",
    "实践活动",
    "主题活动",
    "主题教育",
    "学习教育",
    "教育整顿",
    "百日攻坚",
    "百日行动",
    "攻坚行动",
    "攻坚战",
    "集中整治",
    "集中行动",
    "建设年",
    "活动年",
    "行动年",
    "质效年",
    "工程",
    "行动",
    "活动",
    "计划",
)
# ... and the stricter set that does so without quotes (政法队伍教育整顿, 党史学习教育).
UNQUOTED_HEADS = (
    "专项行动",
    "专项监督",
    "专项整治",
    "专项斗争",
    "实践活动",
    "主题教育",
    "学习教育",
    "教育整顿",
    "百日攻坚",
    "攻坚行动",
    "攻坚战",
    "集中整治",
    "建设年",
    "工程",
)
# Heads inside quotes that mark a named initiative or institution (“质量建设年”, “...办公室”).
INNER_HEADS = (*QUOTED_HEADS, "办公室")
# Bare heads that stand for the one named campaign of the text (教育整顿 for 政法队伍教育整顿); other bare
# heads (学习教育, 专项监督) are ordinary nouns.
ABBREVIATING_HEADS = ("教育整顿", "百日攻坚")
# Generic heads dropped from a canonical name when a distinctive core remains (检察护企专项行动 -> 检察护企).
GENERIC_HEADS = ("专项行动", "专项监督", "专项整治", "专项斗争", "专项活动", "专项工作", "实践活动", "主题活动")

_STOP_CHARS = set(
    "的了和与及或等在以从对把将是要并而且也就都又还再被让使向于至到给由按据之其、，,。；;：:！？!?（）()《》“”\"'‘’ "
)
_STOP_BIGRAMS = {
    "开展",
    "推进",
    "深化",
    "深入",
    "持续",
    "扎实",
    "集成",
    "巩固",
    "拓展",
    "落实",
    "贯彻",
    "抓好",
    "抓实",
    "抓紧",
    "部署",
    "启动",
    "组织",
    "参加",
    "参与",
    "结合",
    "完成",
    "做好",
    "加强",
    "通过",
    "围绕",
    "召开",
    "总结",
    "进行",
    "全面",
    "认真",
    "积极",
    "坚持",
    "继续",
    "各项",
    "有关",
    "关于",
    "作为",
    "成为",
    "为了",
    "按照",
    "根据",
    "聚焦",
    "统筹",
    "强化",
    "推动",
    "实施",
    "发起",
    "牵头",
    "接受",
    "迎接",
    "决战",
    "打好",
    "打赢",
    "举办",
    "依托",
    "借助",
    "利用",
    "针对",
    "结束",
    "收官",
    "本次",
    "此次",
    "这次",
    "年度",
    "今年",
    "去年",
    "明年",
    "全年",
    "期间",
    "以来",
    "同时",
    "此外",
    "其中",
    "以及",
    "开启",
    "掀起",
    "助力",
    "服务",
    "护航",
    "保障",
    "配合",
    "常态",
    "长效",
    "首要",
}
_GENERIC_PREFIXES = (
    "全国检察机关",
    "全省检察机关",
    "全市检察机关",
    "全区检察机关",
    "检察机关",
    "全国",
    "全省",
    "全市",
    "全区",
    "全州",
    "全县",
    "全院",
    "全系统",
    "各级",
    "本院",
    "我院",
    "我省",
    "我市",
    "我区",
    "最高检",
    "省院",
    "市院",
    "系统内",
    "一项",
    "一个",
    "这项",
    "这一",
    "该项",
    "各类",
)
_ORDINAL = re.compile(r"^第[一二三四五六七八九十\d]+[批轮期届次]")
# Second characters of idioms that start with a numeral (一心一意, 一亩三分地, 一刀切, 一把手 ...).
_IDIOM_SECOND = set(
    "心意举面把盘站刀帆湖毛全上步针丝亩分掷马石目言鼓视些直定般切起同样度次下律致体边线日年天时月口人手"
)

_QUOTED = re.compile(r"(“[^“”\n]{1,40}”|「[^「」\n]{1,40}」|『[^『』\n]{1,40}』|‘[^‘’\n]{1,40}’|\"[^\"\n]{1,40}\")")
_SUGGESTION = re.compile(r"[一二三四五六七八九十]{1,3}号检察建议")
_NUMBERED_BIG = re.compile(r"[二三四五六七八九十]大(?:攻坚战|检察|业务|战略|任务|专项行动|行动|工程|体系)")
_SENTENCE = re.compile(r"[，,。；;！!？?、]")
_HEAD_PATTERN = re.compile("|".join(sorted(UNQUOTED_HEADS, key=len, reverse=True)))
CONTEXT_CHARS = 24
MAX_CONTEXTS = 3


AddMention = Callable[..., None]  # add(name, kind, start, end, surface_forms=())


@dataclass
class Mention:
    """A campaign or formulation found in one text."""

    name: str
    kind: str  # campaign | formulation
    count: int = 0
    contexts: list[str] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list, repr=False)

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "kind": self.kind, "count": self.count, "contexts": self.contexts}


def prepare(text: str) -> str:
    """The form the extractor reads: NFKC, pinyin annotations removed, Simplified."""
    return to_simplified(unicodedata.normalize("NFKC", strip_pinyin(text)))


class CampaignExtractor:
    def __init__(self, lexicon: Lexicon | None = None):
        self.lexicon = lexicon if lexicon is not None else builtin_lexicon()
        campaigns = sorted((n for n in self.lexicon.campaigns() if len(n) >= 4), key=len, reverse=True)
        self._lexicon_campaigns = re.compile("|".join(map(re.escape, campaigns))) if campaigns else None

    @classmethod
    def for_config(cls, config: Config) -> CampaignExtractor:
        """The shipped lexicon plus the one named in the config's settings.lexicon."""
        return cls(load_lexicon(config.lexicon_path))

    def extract(self, text: str) -> list[Mention]:
        """Mentions in ``text`` (any script), most frequent first."""
        text = prepare(text)
        found: dict[str, Mention] = {}
        aliases: dict[str, str] = {}  # surface form -> canonical name, for counting repeat mentions
        fallbacks: dict[str, str] = {}  # bare head -> the ordinal phrase it came with (第二批教育整顿)

        def add(name: str, kind: str, start: int, end: int, surface: Iterable[str] = ()) -> None:
            mention = found.setdefault(name, Mention(name, kind))
            if kind == "campaign":
                mention.kind = "campaign"
            mention.spans.append((start, end))
            for form in (name, *surface):
                if len(form) >= 3:
                    aliases.setdefault(form, name)

        self._quoted(text, add)
        self._unquoted(text, add, fallbacks)
        self._merge_bare(found, fallbacks)
        self._count(text, found, aliases)
        return sorted(found.values(), key=lambda m: (-m.count, m.spans[0][0]))

    # -- rule 1, 3, 4: quoted terms -------------------------------------------------------------

    def _quoted(self, text: str, add: AddMention) -> None:
        matches = list(_QUOTED.finditer(text))
        index = 0
        while index < len(matches):
            # A run of adjacent quoted terms that may share one head: “检察护企”“检护民生”专项行动
            run = [matches[index]]
            while index + 1 < len(matches) and _adjacent(text, run[-1].end(), matches[index + 1].start()):
                index += 1
                run.append(matches[index])
            index += 1
            head = _head_at(text, run[-1].end(), QUOTED_HEADS) or _qualified_head(text, run[-1].end())
            for match in run:
                term = match.group(0)[1:-1].strip()
                if head:
                    core = _canonical(term) if _valid_name(term) else ""
                    if core:
                        add(core, "campaign", match.start(), run[-1].end() + len(head), [term, term + head])
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
            return term, "campaign"
        if not _valid_name(term) or _SENTENCE.search(term):
            return None
        if _is_numbered(term):
            return term, "formulation"
        inner = next((h for h in INNER_HEADS if term.endswith(h) and len(term) > len(h) + 1), None)
        if inner:
            return _canonical(term), "campaign"
        return None

    # -- rules 2, 3 (unquoted) ------------------------------------------------------------------

    def _unquoted(self, text: str, add: AddMention, fallbacks: dict[str, str]) -> None:
        for match in _HEAD_PATTERN.finditer(text):
            head, start = match.group(0), match.start()
            if _inside_quotes(text, start):
                continue
            name_start = _left_boundary(text, start)
            if text[name_start - 1 : name_start] == "”":
                continue  # “守护青山”公益诉讼专项监督: the quoted name was taken by the quoted-term rule
            phrase = text[name_start : match.end()]
            stripped, had_ordinal = _strip_prefixes(phrase)
            if len(stripped) - len(head) > 16 or _NUMBERED_BIG.fullmatch(stripped):
                continue  # too long to be a name; 三大攻坚战 is a numbered formulation
            if head == "工程" and len(stripped) < 6:
                continue  # 系统工程, 基础工程: too generic without a distinctive name
            if stripped == head:
                add(head, "campaign", start, match.end())  # bare: kept only if it merges below
                if had_ordinal:
                    fallbacks.setdefault(head, phrase)
                continue
            add(_canonical(stripped) if stripped != head else phrase, "campaign", name_start, match.end(), [phrase])
        for match in _SUGGESTION.finditer(text):
            add(match.group(0), "campaign", match.start(), match.end())
        for match in _NUMBERED_BIG.finditer(text):
            add(match.group(0), "formulation", match.start(), match.end())
        if self._lexicon_campaigns is not None:
            for match in self._lexicon_campaigns.finditer(text):
                add(_canonical(match.group(0)), "campaign", match.start(), match.end(), [match.group(0)])

    @staticmethod
    def _merge_bare(found: dict[str, Mention], fallbacks: dict[str, str]) -> None:
        """A bare head (教育整顿) joins the named campaign it abbreviates, or is dropped."""
        for head in UNQUOTED_HEADS:
            bare = found.pop(head, None)
            if bare is None:
                continue
            longer = [m for m in found.values() if m.name.endswith(head)]
            if longer and head in ABBREVIATING_HEADS:
                max(longer, key=lambda m: len(m.spans)).spans.extend(bare.spans)
            elif head in fallbacks:
                name = fallbacks[head]
                found[name] = Mention(name, "campaign", spans=bare.spans)

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


def _adjacent(text: str, end: int, start: int) -> bool:
    return text[end:start] in ("", "、", "和", "与", "及", " ")


def _head_at(text: str, position: int, heads: tuple[str, ...]) -> str | None:
    return next((h for h in heads if text.startswith(h, position)), None)


def _qualified_head(text: str, position: int) -> str | None:
    """A head after a few qualifying characters: “守护青山”公益诉讼专项监督 -> '公益诉讼专项监督'."""
    window = text[position : position + 12]
    match = re.match(rf"[{_HAN}]{{1,6}}?(?:{'|'.join(UNQUOTED_HEADS)})", window)
    if (
        match
        and not any(ch in _STOP_CHARS for ch in match.group(0))
        and not any(match.group(0)[i : i + 2] in _STOP_BIGRAMS for i in range(len(match.group(0)) - 1))
    ):
        return match.group(0)
    return None


def _inside_quotes(text: str, position: int) -> bool:
    line_start = text.rfind("\n", 0, position) + 1
    before = text[line_start:position]
    return before.count("“") > before.count("”")


def _left_boundary(text: str, head_start: int, limit: int = 18) -> int:
    start = head_start
    while start > 0 and head_start - start < limit:
        char = text[start - 1]
        if char in _STOP_CHARS or not re.match(rf"[{_HAN}A-Za-z0-9]", char):
            break
        if text[start - 2 : start] in _STOP_BIGRAMS:
            break
        start -= 1
    return start


def _strip_prefixes(phrase: str) -> tuple[str, bool]:
    had_ordinal = False
    changed = True
    while changed:
        changed = False
        for prefix in _GENERIC_PREFIXES:
            if phrase.startswith(prefix) and len(phrase) > len(prefix):
                phrase, changed = phrase[len(prefix) :], True
        ordinal = _ORDINAL.match(phrase)
        if ordinal and len(phrase) > ordinal.end():
            phrase, changed, had_ordinal = phrase[ordinal.end() :], True, True
    return phrase, had_ordinal


def _canonical(name: str) -> str:
    name = re.sub(r"[\s“”\"'‘’「」『』《》]", "", name)
    for head in GENERIC_HEADS:
        if name.endswith(head) and len(name) - len(head) >= 2:
            return name[: -len(head)]
    return name


def _valid_name(term: str) -> bool:
    return 2 <= len(term) <= 16 and bool(re.fullmatch(rf"[{_HAN}A-Za-z0-9+\-·、]+", term))


def _is_numbered(term: str) -> bool:
    """四个意识, 一岗双责, 双赢多赢共赢, 三大攻坚战; not 七一 (a date), 一亩三分地 (an idiom)."""
    if term[0] not in NUMERALS or len(term) > 12:
        return False
    rest = term.lstrip(NUMERALS)
    return bool(rest) and rest[0] not in _IDIOM_SECOND


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
