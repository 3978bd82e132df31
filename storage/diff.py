"""Character-level diffs between article versions (Chinese has no spaces, so characters are the words)."""

from __future__ import annotations

import html

from diff_match_patch import diff_match_patch

Diff = list[tuple[int, str]]  # (-1 deleted | 0 equal | 1 inserted, text)


def _engine() -> diff_match_patch:
    engine = diff_match_patch()
    engine.Diff_Timeout = 2.0  # seconds; a pathological pair degrades to a coarser diff, never hangs
    return engine


def diff(old: str, new: str) -> Diff:
    """A cleaned-up, human-readable diff of two texts."""
    engine = _engine()
    ops = engine.diff_main(old, new)
    engine.diff_cleanupSemantic(ops)
    return [(op, text) for op, text in ops]


def change_size(old: str, new: str) -> int:
    """Characters inserted plus characters deleted."""
    if old == new:
        return 0
    return sum(len(text) for op, text in diff(old, new) if op)


def diff_html(old: str, new: str) -> str:
    """The new text with deletions in <del> and insertions in <ins>, paragraphs kept."""
    out = []
    for op, text in diff(old, new):
        escaped = html.escape(text).replace("\n", "<br>\n")
        out.append(escaped if op == 0 else f"<{'ins' if op > 0 else 'del'}>{escaped}</{'ins' if op > 0 else 'del'}>")
    return "".join(out)


def diff_text(old: str, new: str, *, context: int = 30) -> list[str]:
    """Changed passages as ``-deleted`` / ``+inserted`` lines with a little context around them."""
    ops = diff(old, new)
    lines = []
    for index, (op, text) in enumerate(ops):
        if op == 0:
            continue
        # context from the nearest unchanged text on each side, skipping the other half of a replacement
        before = next((t[-context:] for o, t in reversed(ops[:index]) if o == 0), "")
        after = next((t[:context] for o, t in ops[index + 1 :] if o == 0), "")
        sign = "+" if op > 0 else "-"
        lines.append(f"{sign} …{before}[{text}]{after}…".replace("\n", "⏎"))
    return lines
