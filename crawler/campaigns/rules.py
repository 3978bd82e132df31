"""The form rules of campaign names, loaded from ``rules.yaml`` beside this module.

Heads, boundary words, scope prefixes and idiom markers are data: the extractor's code says how
they are used, the file says what they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import yaml


def _longest_first(words: list[str]) -> tuple[str, ...]:
    return tuple(sorted(dict.fromkeys(words), key=len, reverse=True))


@dataclass(frozen=True)
class NameRules:
    unquoted_heads: tuple[str, ...]
    quoted_heads: tuple[str, ...]  # unquoted heads, and the ones a quoted term makes a campaign
    inner_heads: tuple[str, ...]  # heads inside the quotes
    abbreviating_heads: frozenset[str]
    generic_heads: tuple[str, ...]
    weak_heads: frozenset[str]
    stop_characters: frozenset[str]
    verb_markers: frozenset[str]
    boundary_words: frozenset[str]
    long_boundary_words: tuple[str, ...]  # two characters or more: also found inside a longer word
    anaphora: frozenset[str]
    scope: re.Pattern[str]
    admin_characters: frozenset[str]
    idiom_second: frozenset[str]
    max_core: int
    max_quoted: int

    @property
    def head_pattern(self) -> re.Pattern[str]:
        return _head_pattern(self.unquoted_heads)


@lru_cache(maxsize=8)
def _head_pattern(heads: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(map(re.escape, heads)))


@lru_cache(maxsize=1)
def name_rules() -> NameRules:
    data = yaml.safe_load((files("crawler.campaigns") / "rules.yaml").read_text("utf-8"))
    heads, boundary = data["heads"], data["boundary"]
    unquoted = _longest_first(heads["unquoted"])
    scope = "|".join(f"(?:{p})" for p in boundary["scope_patterns"])
    return NameRules(
        unquoted_heads=unquoted,
        quoted_heads=_longest_first([*heads["unquoted"], *heads["quoted"]]),
        inner_heads=_longest_first([*heads["unquoted"], *heads["quoted"], *heads["inner"]]),
        abbreviating_heads=frozenset(heads["abbreviating"]),
        generic_heads=_longest_first(heads["generic"]),
        weak_heads=frozenset(heads["weak"]),
        stop_characters=frozenset(boundary["stop_characters"]),
        verb_markers=frozenset(boundary["verb_markers"]),
        boundary_words=frozenset(boundary["words"]),
        long_boundary_words=tuple(w for w in boundary["words"] if len(w) >= 2),
        anaphora=frozenset(boundary["anaphora"]),
        scope=re.compile(rf"^(?:{scope})"),
        admin_characters=frozenset(data["admin_characters"]),
        idiom_second=frozenset(data["idiom_second"]),
        max_core=int(data["max_core"]),
        max_quoted=int(data["max_quoted"]),
    )
