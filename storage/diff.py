"""Character-level diffs between article versions (Chinese has no spaces, so characters are the words).

How a diff is shown (HTML for feeds, lines for the terminal) lives in :mod:`feeds.diff`.
"""

from __future__ import annotations

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
