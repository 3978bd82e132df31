"""The campaign lexicon: known names, their kinds and the year they began; shipped and user-extendable.

A lexicon file has ``campaigns:`` and ``formulations:`` lists. An entry is a name, or a mapping::

    campaigns:
      - {name: 某某专项行动, since: 2024, aliases: [某某]}
    formulations:
      - {name: 某某口号, since: 2019, unquoted: true}

Campaigns are recognised wherever they are written. Formulations only in quotation marks unless
``unquoted: true`` (a four-character slogan is one wherever it stands; a concept word is, in
running text, just a phrase). Names compare in Simplified, with 、 and , alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from crawler.errors import LexiconError
from storage.kinds import CampaignKind

KINDS = tuple(str(kind) for kind in CampaignKind)  # the lexicon file's sections, plural: campaigns, formulations
_ENTRY_KEYS = {"name", "since", "aliases", "unquoted"}
NEW_LEXICON_FILE = "# procwatch lexicon: your own names; `procwatch campaigns accept` adds to it\n"


def lexicon_key(name: str) -> str:
    """The form names are compared in: Simplified, the enumeration comma and the comma alike."""
    from storage.folding import to_simplified  # OpenCC: loaded when a lexicon is, not when this module is

    return to_simplified(name.strip()).replace("，", "、").replace(",", "、")


@dataclass(frozen=True)
class Lexicon:
    kinds: dict[str, CampaignKind] = field(default_factory=dict)  # key -> kind
    unquoted: frozenset[str] = frozenset()  # keys recognised outside quotation marks
    since: dict[str, int] = field(default_factory=dict)  # key -> the year it began, where known

    def kind_of(self, name: str) -> CampaignKind | None:
        return self.kinds.get(lexicon_key(name))

    def campaigns(self) -> list[str]:
        return [name for name, kind in self.kinds.items() if kind == CampaignKind.campaign]

    def merged(self, other: Lexicon) -> Lexicon:
        return Lexicon(
            {**self.kinds, **other.kinds}, self.unquoted | other.unquoted, {**self.since, **other.since}
        )


def parse_lexicon(text: str, name: str) -> Lexicon:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise LexiconError(f"{name}: invalid YAML: {exc}") from None
    if not isinstance(data, dict) or set(data) - set(KINDS + tuple(k + "s" for k in KINDS)):
        raise LexiconError(f"{name}: expected a mapping with 'campaigns' and/or 'formulations' lists")
    kinds: dict[str, CampaignKind] = {}
    unquoted: set[str] = set()
    since: dict[str, int] = {}
    for key, entries in data.items():
        kind = CampaignKind(key.rstrip("s"))
        if not isinstance(entries, list):
            raise LexiconError(f"{name}: {key}: expected a list of names")
        for index, entry in enumerate(entries):
            names, year, anywhere = _entry(entry, f"{name}: {key}[{index}]", default_unquoted=kind == "campaign")
            for written in names:
                kinds[lexicon_key(written)] = kind
                if anywhere:
                    unquoted.add(lexicon_key(written))
                if year is not None:
                    since[lexicon_key(written)] = year
    return Lexicon(kinds, frozenset(unquoted), since)


def _entry(entry: Any, where: str, *, default_unquoted: bool) -> tuple[list[str], int | None, bool]:
    if isinstance(entry, str) and entry.strip():
        return [entry], None, default_unquoted
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
        raise LexiconError(f"{where}: expected a name or a mapping with 'name', got {entry!r}")
    unknown = set(entry) - _ENTRY_KEYS
    if unknown:
        raise LexiconError(f"{where}: unknown key {sorted(unknown)[0]!r} (allowed: {', '.join(sorted(_ENTRY_KEYS))})")
    aliases = entry.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise LexiconError(f"{where}: aliases: expected a list of names")
    year = entry.get("since")
    if year is not None and not (isinstance(year, int) and 1921 <= year <= 2100):
        raise LexiconError(f"{where}: since: expected a year such as 2018, got {year!r}")
    anywhere = entry.get("unquoted", default_unquoted)
    if not isinstance(anywhere, bool):
        raise LexiconError(f"{where}: unquoted: expected true or false, got {anywhere!r}")
    return [entry["name"], *aliases], year, anywhere


def builtin_lexicon() -> Lexicon:
    return parse_lexicon((files("crawler.campaigns") / "lexicon.yaml").read_text("utf-8"), "lexicon.yaml")


def load_lexicon(extra: Path | None = None) -> Lexicon:
    """The shipped lexicon, extended (and overridden) by the user's file if given."""
    lexicon = builtin_lexicon()
    if extra is None:
        return lexicon
    try:
        text = extra.read_text("utf-8")
    except OSError as exc:
        raise LexiconError(f"{extra}: {exc.strerror or exc}") from None
    return lexicon.merged(parse_lexicon(text, str(extra)))


def add_to_lexicon_file(path: Path, name: str, kind: str, since: int | None) -> bool:
    """Append ``name`` to the ``campaigns:``/``formulations:`` list of a user lexicon file, keeping its
    comments and layout (the file is created if missing). False when it is listed already."""
    key = f"{kind}s"
    text = path.read_text("utf-8") if path.exists() else NEW_LEXICON_FILE
    current = parse_lexicon(text, str(path))  # a broken file is reported, never overwritten
    if current.kind_of(name) is not None:
        return False
    entry = f"  - {{name: {json.dumps(name, ensure_ascii=False)}" + (f", since: {since}" if since else "") + "}"
    lines = text.splitlines()
    at = next((i for i, line in enumerate(lines) if line.rstrip() == f"{key}:"), None)
    if at is None:
        if any(line.startswith(f"{key}:") for line in lines):
            raise LexiconError(f"{path}: {key}: write the list one entry per line to add names to it")
        lines += [f"{key}:", entry]
    else:
        end = at + 1
        while end < len(lines) and (not lines[end].strip() or lines[end][:1] in (" ", "\t", "-", "#")):
            end += 1
        while end > at + 1 and not lines[end - 1].strip():
            end -= 1  # keep blank lines between blocks where they were
        lines.insert(end, entry)
    updated = "\n".join(lines) + "\n"
    parse_lexicon(updated, str(path))
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(updated, "utf-8")
    temporary.replace(path)  # atomic: a crash leaves the old file or the new one
    return True
