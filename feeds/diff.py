"""Showing what changed between two versions: HTML for feeds and pages, marked lines for terminals."""

from __future__ import annotations

import html

from storage.diff import diff


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
