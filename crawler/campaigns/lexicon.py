"""The campaign lexicon: known names and their kinds, shipped and user-extendable."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import yaml

from crawler.normalise import to_simplified

KINDS = ("campaign", "formulation")


class LexiconError(ValueError):
    """A lexicon file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Lexicon:
    kinds: dict[str, str] = field(default_factory=dict)  # simplified name -> kind

    def kind_of(self, name: str) -> str | None:
        return self.kinds.get(name)

    def campaigns(self) -> list[str]:
        return [name for name, kind in self.kinds.items() if kind == "campaign"]

    def merged(self, other: Lexicon) -> Lexicon:
        return Lexicon({**self.kinds, **other.kinds})


def parse_lexicon(text: str, name: str) -> Lexicon:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise LexiconError(f"{name}: invalid YAML: {exc}") from None
    if not isinstance(data, dict) or set(data) - set(KINDS + tuple(k + "s" for k in KINDS)):
        raise LexiconError(f"{name}: expected a mapping with 'campaigns' and/or 'formulations' lists")
    kinds: dict[str, str] = {}
    for key, entries in data.items():
        kind = key.rstrip("s")
        if not isinstance(entries, list):
            raise LexiconError(f"{name}: {key}: expected a list of names")
        for index, entry in enumerate(entries):
            if not isinstance(entry, str) or not entry.strip():
                raise LexiconError(f"{name}: {key}[{index}]: expected a name, got {entry!r}")
            kinds[to_simplified(entry.strip())] = kind
    return Lexicon(kinds)


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
