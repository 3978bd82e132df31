"""Showing what changed between two versions: HTML for feeds and pages, marked lines for terminals."""

from __future__ import annotations

import html

from storage.diff import diff


def diff_html(old: str, new: str, *, markers: bool = False) -> str:
    """The new text with deletions in <del> and insertions in <ins>, paragraphs kept. With ``markers``
    the changes also read in plain text, ``[-deleted-]{+inserted+}`` (wdiff's notation), for readers
    that drop the tags (newsboat, feedparser-based ones)."""
    out = []
    for op, text in diff(old, new):
        escaped = html.escape(text).replace("\n", "<br>\n")
        if op == 0:
            out.append(escaped)
        elif op > 0:
            out.append(f"<ins>{{+{escaped}+}}</ins>" if markers else f"<ins>{escaped}</ins>")
        else:
            out.append(f"<del>[-{escaped}-]</del>" if markers else f"<del>{escaped}</del>")
    return "".join(out)


def diff_sides(old: str, new: str) -> tuple[str, str]:
    """Side by side: the old text with its deletions marked, the new one with its insertions."""
    left, right = [], []
    for op, text in diff(old, new):
        escaped = html.escape(text).replace("\n", "<br>\n")
        if op <= 0:
            left.append(escaped if op == 0 else f"<del>{escaped}</del>")
        if op >= 0:
            right.append(escaped if op == 0 else f"<ins>{escaped}</ins>")
    return "".join(left), "".join(right)


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
