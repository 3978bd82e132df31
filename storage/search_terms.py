"""The search index's tokens and the query language, shared by both databases. Pure: no SQL.

Chinese has no spaces, and a dictionary would miss exactly the new names people search for. So a
text is folded (storage.folding: Simplified, NFKC, lower case) and each run of Han characters is
indexed as its overlapping character pairs plus its last character (检察院 -> 检察 察院 院); other
letters and digits as words. A query term is the phrase of its own pairs, so any substring of two
or more characters is found exactly where it occurs; a single character is a prefix of a pair.

The query language (web view, ``procwatch search``, feeds' ``?q=``)::

    检察护企 专项行动          both (AND)
    "检察护企专项行动"         the phrase
    扫黑除恶 OR 扫黑         either
    -试点   NOT 试点         not
    source:spp  tag:四川  since:2024-01-01  until:2024-06-30
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from storage.clock import BEIJING
from storage.errors import QueryError
from storage.folding import fold

__all__ = [
    "Query",
    "QueryError",
    "Term",
    "density",
    "document_tokens",
    "fts5_match",
    "matches",
    "matches_text",
    "parse",
    "snippet",
    "tsquery",
]

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_RUNS = re.compile(rf"[{_HAN}]+|[^\W{_HAN}_]+")
_HAN_RUN = re.compile(rf"[{_HAN}]+")
_WORDS = re.compile(r'"([^"]*)"|(\S+)')
FILTERS = ("source", "tag", "since", "until")
MAX_TERMS = 16  # a query of more terms is a pasted paragraph: refused, not run


def document_tokens(text: str) -> str:
    """The index's tokens of ``text``, space-separated in order."""
    return " ".join(_tokens(fold(text)))


def _tokens(folded: str) -> list[str]:
    out: list[str] = []
    for run in _RUNS.findall(folded):
        if _HAN_RUN.fullmatch(run) and len(run) > 1:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
            out.append(run[-1])  # so that a character ending a run is found alone too
        else:
            out.append(run)
    return out


@dataclass(frozen=True)
class Term:
    """One search term as index tokens, which must occur in this order, next to each other."""

    text: str  # as folded, for highlighting
    tokens: tuple[str, ...]
    prefix: bool = False  # the last token is a single Han character: any pair starting with it too


def term(text: str) -> Term | None:
    """The tokens a document holds where ``text`` occurs: its runs tokenised as documents are, except
    that a final run of Han characters gets no trailing single character (the document's run may go on)."""
    folded = fold(text)
    runs = _RUNS.findall(folded)
    tokens: list[str] = []
    for index, run in enumerate(runs):
        last = index == len(runs) - 1
        if _HAN_RUN.fullmatch(run) and len(run) > 1:
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
            if not last:
                tokens.append(run[-1])
        else:
            tokens.append(run)
    if not tokens:
        return None
    prefix = bool(runs) and len(runs[-1]) == 1 and bool(_HAN_RUN.fullmatch(runs[-1]))
    return Term(folded.strip(), tuple(tokens), prefix=prefix)


@dataclass(frozen=True)
class Query:
    """``all_of``: clauses that must all hold, each one of several terms (OR); ``none_of``: terms that must not."""

    all_of: tuple[tuple[Term, ...], ...] = ()
    none_of: tuple[Term, ...] = ()
    sources: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    text: str = field(default="", compare=False)

    @property
    def positive(self) -> list[Term]:
        return [t for clause in self.all_of for t in clause]


def _day(value: str, name: str, *, end: bool) -> datetime:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise QueryError(f"{name}:{value}: not a date (YYYY-MM-DD)") from None
    moment = datetime(day.year, day.month, day.day, tzinfo=BEIJING)
    return moment.replace(hour=23, minute=59, second=59) if end else moment


def parse(text: str) -> Query:
    """The query in ``text``; QueryError when it has no term to look for or a filter is wrong."""
    clauses: list[list[Term]] = []
    none_of: list[Term] = []
    filters: dict[str, list[str]] = {name: [] for name in FILTERS}
    pending_or = negate = False
    for match in _WORDS.finditer(text.strip()):
        quoted, word = match.group(1), match.group(2)
        if word is not None:
            if word == "OR":
                pending_or = bool(clauses)
                continue
            if word == "NOT":
                negate = True
                continue
            name, colon, value = word.partition(":")
            if colon and name in FILTERS:
                if not value:
                    raise QueryError(f"{word}: the filter needs a value")
                filters[name].append(value)
                continue
            if word.startswith("-") and len(word) > 1:
                negate, word = True, word[1:]
        found = term(quoted if quoted is not None else word)
        if found is None:
            negate = pending_or = False
            continue
        if negate:
            none_of.append(found)
        elif pending_or:
            clauses[-1].append(found)
        else:
            clauses.append([found])
        negate = pending_or = False
    if not clauses:
        raise QueryError(f"{text.strip()!r}: nothing to search for (a word, a phrase in quotes)")
    if sum(len(c) for c in clauses) + len(none_of) > MAX_TERMS:
        raise QueryError(f"more than {MAX_TERMS} terms: search for the words that matter")
    since = _day(filters["since"][-1], "since", end=False) if filters["since"] else None
    until = _day(filters["until"][-1], "until", end=True) if filters["until"] else None
    return Query(
        tuple(tuple(c) for c in clauses),
        tuple(none_of),
        tuple(filters["source"]),
        tuple(filters["tag"]),
        since,
        until,
        text,
    )


def _occurs(t: Term, tokens: list[str], positions: dict[str, list[int]]) -> bool:
    """Whether ``t``'s tokens occur in order, next to each other (the last one as a prefix, if so)."""
    n = len(t.tokens)
    starts = positions.get(t.tokens[0], []) if not (t.prefix and n == 1) else range(len(tokens))
    for start in starts:
        window = tokens[start : start + n]
        if len(window) < n:
            continue
        if t.prefix:
            if window[:-1] == list(t.tokens[:-1]) and window[-1].startswith(t.tokens[-1]):
                return True
        elif window == list(t.tokens):
            return True
    return False


def matches(query: Query, document: str) -> bool:
    """Whether a document's tokens (document_tokens) satisfy ``query``: what the index answers, asked of
    one text (the versions of an article a search found, to say which of them have the words)."""
    tokens = document.split()
    positions: dict[str, list[int]] = {}
    for index, token in enumerate(tokens):
        positions.setdefault(token, []).append(index)
    return all(any(_occurs(t, tokens, positions) for t in clause) for clause in query.all_of) and not any(
        _occurs(t, tokens, positions) for t in query.none_of
    )


def matches_text(query: Query, text: str) -> bool:
    """Whether ``text`` satisfies ``query``, as the index would answer, without tokenising it when it
    need not be: a term of Han characters alone occurs exactly where it is a substring of the folded
    text (its pairs, next to each other, are that); other terms are looked for among the tokens."""
    folded = fold(text)
    found: dict[Term, bool] = {}
    tokens: list[str] = []
    positions: dict[str, list[int]] = {}

    def occurs(t: Term) -> bool:
        if t not in found:
            if _HAN_RUN.fullmatch(t.text):
                found[t] = t.text in folded
            else:
                if not tokens:
                    tokens.extend(_tokens(folded))
                    for index, token in enumerate(tokens):
                        positions.setdefault(token, []).append(index)
                found[t] = _occurs(t, tokens, positions)
        return found[t]

    return all(any(occurs(t) for t in clause) for clause in query.all_of) and not any(occurs(t) for t in query.none_of)


# -- what each database is asked ------------------------------------------------------------------


def _fts5_term(t: Term) -> str:
    # a phrase: the tokens in this order, next to each other; "..."* takes its last token as a prefix
    return '"' + " ".join(t.tokens) + '"' + ("*" if t.prefix else "")


def fts5_match(query: Query) -> str:
    """The MATCH expression for SQLite FTS5."""
    clauses = ["(" + " OR ".join(_fts5_term(t) for t in clause) + ")" for clause in query.all_of]
    expression = " AND ".join(clauses)
    for t in query.none_of:
        expression = f"({expression}) NOT {_fts5_term(t)}"
    return expression


def _ts_term(t: Term) -> str:
    def lexeme(token: str) -> str:
        return "'" + token.replace("'", "''").replace("\\", "\\\\") + "'"

    lexemes = [lexeme(token) for token in t.tokens]
    if t.prefix:
        lexemes[-1] += ":*"
    return "(" + " <-> ".join(lexemes) + ")"


def tsquery(query: Query) -> str:
    """The tsquery (configuration 'simple') for PostgreSQL."""
    clauses = ["(" + " | ".join(_ts_term(t) for t in clause) + ")" for clause in query.all_of]
    return " & ".join(clauses + [f"!{_ts_term(t)}" for t in query.none_of])


# -- what a reader is shown -----------------------------------------------------------------------


def snippet(text: str, query: Query, *, width: int = 60) -> tuple[str, str, str] | None:
    """Around the first place a positive term occurs in ``text``: (before, found, after), as the text
    reads (Traditional stays Traditional when folding kept its length); None when no term is there
    as written (a match across a line break, say)."""
    folded = fold(text)
    same_length = len(folded) == len(text)
    best: tuple[int, int] | None = None
    for t in query.positive:
        at = folded.find(t.text)
        if at >= 0 and (best is None or at < best[0]):
            best = (at, len(t.text))
    if best is None:
        return None
    shown = text if same_length else folded
    at, length = best
    start = max(0, at - width)
    before = ("…" if start else "") + shown[start:at]
    after = shown[at + length : at + length + width] + ("…" if at + length + width < len(shown) else "")
    return before.replace("\n", " "), shown[at : at + length], after.replace("\n", " ")


def density(query: Query, frequencies: Mapping[str, float], rare: float) -> float:
    """An upper bound on the share of documents matching ``query``, from the share holding each token
    (a database's statistics: its most common tokens; any other is at most ``rare``). A phrase is no
    more common than its rarest token, OR adds up, AND is no more common than its rarest clause."""

    def of_term(t: Term) -> float:
        shares = [frequencies.get(token, rare) for token in t.tokens]
        if t.prefix:  # a single character: every token it starts
            last = t.tokens[-1]
            shares[-1] = min(1.0, sum(f for token, f in frequencies.items() if token.startswith(last)) + rare)
        return min(shares)

    clauses = [min(1.0, sum(of_term(t) for t in clause)) for clause in query.all_of]
    return min(clauses, default=1.0)
