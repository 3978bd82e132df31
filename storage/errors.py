"""The root of procwatch's exceptions, and the storage layer's.

Every error procwatch raises on purpose derives from :class:`ProcwatchError` (as httpx's from
``httpx.HTTPError``), so a caller can catch procwatch's failures and nothing else; each layer keeps
its own in one module: this one, :mod:`crawler.errors` and :mod:`feeds.errors`. Errors are told apart
by their type, never by their message. The tree::

    ProcwatchError
    ├── DatabaseError                  a database that cannot be used (storage)
    │   ├── SchemaError                the schema does not match this procwatch
    │   │   └── RevisionMismatch       at another revision: db upgrade, or upgrade procwatch
    │   └── NoDatabase                 a read-only command pointed at nothing
    ├── QueryError (ValueError)        a search query that cannot be run (storage.search_terms)
    ├── ExportError                    an export that cannot be written (storage.export)
    ├── CaptureError                   the capture store cannot be used (storage.captures)
    ├── ConfigError                    sources.yaml or settings cannot be used (crawler)
    ├── UnsetVariable (LookupError)    a ${VAR} of sources.yaml not in the environment
    ├── AdapterNotFound (LookupError)  an adapter name no registry knows
    ├── LexiconError (ValueError)      a campaign lexicon that cannot be used
    ├── FetchError                     a URL could not be fetched; ``kind`` says why
    │   ├── Blocked                    an anti-bot challenge (not passed)
    │   ├── BrowserUnavailable         a source needs the browser: Playwright or Chromium missing
    │   ├── TooLarge                   over the size cap
    │   ├── RobotsDisallowed           robots.txt says no
    │   ├── HttpStatusError            an answer other than 2xx/304/404/410
    │   └── TransportError             timeouts, refused or broken connections
    │       └── TlsError               a certificate or handshake failure
    ├── AddressRefused                 a connection to a non-public address refused (also httpcore.ConnectError)
    ├── EncodingError                  a body that cannot be decoded
    ├── OverBudget                     a decoding layer past its byte budget
    ├── ExtractionError (ValueError)   not an article page at all
    ├── RetryableCrawlError            a scheduled crawl a later attempt can fix
    ├── ClusterError                   cluster mode cannot start
    ├── DeliveryError                  a notification a destination did not take (crawler.notify)
    ├── FilterError (ValueError)       a feed or web query parameter that is wrong (feeds)
    └── NotFound                       a web view page for something not stored
"""

from __future__ import annotations


class ProcwatchError(Exception):
    """The root of every exception procwatch raises on purpose."""


class DatabaseError(ProcwatchError):
    """A database that cannot be used: ``str()`` is one line naming it and the cause."""


class SchemaError(DatabaseError):
    """The database schema does not match this version of procwatch."""


class RevisionMismatch(SchemaError):
    """A procwatch database at another schema revision (older: run db upgrade; newer: upgrade procwatch)."""


class NoDatabase(DatabaseError):
    """A command that only reads was pointed at a database that does not exist (it creates none)."""


class QueryError(ProcwatchError, ValueError):
    """A search that cannot be run; ``str()`` is one line saying why."""


class ExportError(ProcwatchError):
    """An export that cannot be written (a format whose library is missing); ``str()`` says what to do."""


class CaptureError(ProcwatchError):
    """The capture store cannot be used (a library missing, a bucket refused); ``str()`` names it."""
