"""The crawler's exceptions, under :class:`storage.errors.ProcwatchError` (the whole tree is drawn there)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpcore

from storage.errors import ProcwatchError


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a configuration file, located as precisely as the file allows."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ConfigError(ProcwatchError):
    """A configuration file that cannot be used; ``str()`` gives one line per issue."""

    def __init__(self, issues: Sequence[ConfigIssue]):
        self.issues = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


class UnsetVariable(ProcwatchError, LookupError):
    """A ``${VAR}`` in sources.yaml whose variable is not in the environment; ``str()`` names it."""


class AdapterNotFound(ProcwatchError, LookupError):
    """``str()`` says what was tried, fit for a one-line config error."""


class LexiconError(ProcwatchError, ValueError):
    """A lexicon file that cannot be used; the message names the file and the entry."""


class FetchError(ProcwatchError):
    """A URL could not be fetched. ``kind`` is a short machine-readable reason."""

    kind = "error"

    def __init__(self, url: str, message: str, *, status: int | None = None):
        self.url, self.message, self.status = url, message, status
        super().__init__(f"{url}: {message}")

    @property
    def retryable(self) -> bool:
        """Could the same request succeed a little later (a server error, not a missing page)?"""
        return self.status is not None and (self.status >= 500 or self.status == 429)


class Blocked(FetchError):
    kind = "blocked"


class BrowserUnavailable(FetchError):
    """A source needs the browser (``fetch: browser`` or ``auto``), and Playwright or Chromium is missing
    or will not start; ``str()`` says which and how to install it."""

    kind = "browser"


class TooLarge(FetchError):
    kind = "too_large"


class RobotsDisallowed(FetchError):
    kind = "robots"


class HttpStatusError(FetchError):
    kind = "http"


class TransportError(FetchError):
    """Timeouts, refused or broken connections, TLS and redirect failures."""

    kind = "transport"

    def __init__(self, url: str, message: str, *, retryable: bool, reached: bool = True):
        super().__init__(url, message)
        #: False when no connection was made (unknown name, refused): the host saw nothing of us
        self.reached = reached
        self._retryable = retryable

    @property
    def retryable(self) -> bool:
        return self._retryable


class TlsError(TransportError):
    """The TLS handshake failed (an expired or self-signed certificate, an old protocol): not retried."""

    def __init__(self, url: str, message: str):
        super().__init__(url, message, retryable=False)


class AddressRefused(ProcwatchError, httpcore.ConnectError):
    """A connection to a loopback, private, link-local, multicast or reserved address was refused."""


class EncodingError(ProcwatchError):
    """The body cannot be decoded (an unsupported or broken encoding); ``str()`` says which."""


class OverBudget(ProcwatchError):
    """A layer would produce more than the budget."""


class ExtractionError(ProcwatchError, ValueError):
    """The input is not an article page at all (empty, a PDF, no title and no text)."""


class RetryableCrawlError(ProcwatchError):
    """A scheduled crawl failed for a reason a later attempt can fix: the network, a 5xx answer, a busy
    database. Raised only when the trigger asks for it (procrastinate's retry in cluster mode)."""


class ClusterError(ProcwatchError):
    """Cluster mode cannot start (wrong database, schema missing, bad tick)."""


class DeliveryError(ProcwatchError):
    """A notification a destination did not take; ``str()`` is one line saying why."""
