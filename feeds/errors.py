"""The feeds' and web view's exceptions, under :class:`storage.errors.ProcwatchError`."""

from __future__ import annotations

from storage.errors import ProcwatchError


class FilterError(ProcwatchError, ValueError):
    """One line saying which parameter is wrong and why."""


class NotFound(ProcwatchError):
    """A page for something the archive does not hold (answered 404)."""
