"""Where notifications go: apprise URLs (mailto://, json://, ntfy://, tgram://, matrix:// ...), so every
service apprise knows is a destination without code here. ``${VAR}`` in a URL is read from the
environment when it is used, so a password need not be written in sources.yaml."""

from __future__ import annotations

import logging
import re
import threading
from typing import ClassVar
from urllib.parse import urlsplit

from crawler import secrets
from crawler.errors import DeliveryError
from crawler.secrets import redacted


def expand(url: str) -> str:
    """``url`` with each ``${VAR}`` replaced from the environment; DeliveryError names a missing one."""
    try:
        return secrets.expand(url)
    except secrets.UnsetVariable as exc:
        raise DeliveryError(str(exc)) from None


def problem(url: str) -> str | None:
    """Why ``url`` cannot be a destination (unknown scheme, missing address, unset variable), or None."""
    import apprise

    try:
        expanded = expand(url)
    except DeliveryError as exc:
        return str(exc)
    with _Captured() as captured:
        plugin = apprise.Apprise.instantiate(expanded)
    if plugin is None:
        # apprise's words, with the URL as written (its ${VARS}, not the secrets they stand for)
        said = captured.text().replace(expanded, redacted(url)) or f"unknown scheme {urlsplit(url).scheme!r}"
        return f"not a notification URL apprise can use ({said})"
    return None


def send(url: str, title: str, body: str, *, timeout: float) -> None:
    """Deliver one message; DeliveryError (one line, what the service or the network said) if not taken."""
    import apprise

    with _Captured() as captured:
        # the service's own plugin, called in this thread (Apprise.notify may hand it to a pool, whose
        # log records would not be this send's)
        plugin = apprise.Apprise.instantiate(_with_timeouts(expand(url), timeout))
        if plugin is None:
            raise DeliveryError(captured.text() or "not a notification URL apprise knows")
        taken = plugin.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT)
    if not taken:
        raise DeliveryError(captured.text() or "the destination did not take the message")


def _with_timeouts(url: str, timeout: float) -> str:
    """apprise's own connect/read timeouts (cto/rto), unless the URL sets them."""
    query = urlsplit(url).query
    extra = [f"{name}={timeout:g}" for name in ("cto", "rto") if not re.search(rf"(^|&){name}=", query)]
    if not extra:
        return url
    return url + ("&" if "?" in url else "?") + "&".join(extra)


class _Captured:
    """What apprise logs while this thread sends (its errors come as log records, not exceptions);
    other threads' records are not mixed in."""

    _lock = threading.Lock()
    _handlers: ClassVar[dict[int, list[str]]] = {}
    _installed = False

    def __enter__(self) -> _Captured:
        with self._lock:
            if not _Captured._installed:
                logging.getLogger("apprise").addHandler(_ThreadRouter())
                _Captured._installed = True
            self.lines = _Captured._handlers[threading.get_ident()] = []
        return self

    def __exit__(self, *_: object) -> None:
        with self._lock:
            _Captured._handlers.pop(threading.get_ident(), None)

    def text(self) -> str:
        return "; ".join(dict.fromkeys(self.lines))[:500]


class _ThreadRouter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        lines = _Captured._handlers.get(threading.get_ident())
        if lines is not None:
            lines.append(record.getMessage().splitlines()[0] if record.getMessage() else record.levelname)
