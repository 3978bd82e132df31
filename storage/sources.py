"""Per-source and per-URL crawl state: health, cluster claims, list snapshots, HTTP validators."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from storage.base import Repository, writes
from storage.clock import beijing_iso, utcnow
from storage.kinds import NoticeKind
from storage.models import HttpValidator, Listing, SourceState
from storage.outbox import enqueue

#: a back-off policy: how long a source waits after its n-th consecutive failure
BackoffPolicy = Callable[[int], timedelta]


#: the columns' sizes (models.HttpValidator): a longer value would be kept cut, and sent back wrong
ETAG_CHARS, LAST_MODIFIED_CHARS = 512, 128
_HEADER_TEXT = re.compile(r"[\x20-\x7e\t]*")  # what an HTTP header value can carry unchanged


def verbatim(value: str | None, limit: int) -> str | None:
    """A validator that can be sent back exactly as it came (printable ASCII, within its column), or
    None: a cut or non-ASCII ETag made every later conditional request fail, so edits went unseen."""
    if value is None or len(value) > limit or not _HEADER_TEXT.fullmatch(value):
        return None
    return value


def source_verdict(consecutive_failures: int, last_error: str | None) -> str:
    """A source's health in one word: ``failing`` (its last crawls failed), ``degraded`` (the last
    crawl ran but some pages failed: ``last_error`` names them), or ``ok``."""
    if consecutive_failures:
        return "failing"
    return "degraded" if last_error else "ok"


def overall_verdict(verdicts: Sequence[str], database_error: str | None = None) -> str:
    """The worst of the sources' verdicts; ``failing`` too when the database cannot be read."""
    if database_error or "failing" in verdicts:
        return "failing"
    return "degraded" if "degraded" in verdicts else "ok"


def health_report(
    states: Mapping[str, SourceState],
    source_ids: Iterable[str],
    *,
    database_error: str | None = None,
    amend: Callable[[str, dict[str, Any]], None] | None = None,
    destinations: Mapping[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The health of ``source_ids`` from their stored states (times in Beijing time), for /healthz and
    the web view, whoever serves them; ``amend`` adds what only a running daemon knows (its next runs,
    failures it could not record) to a source's entry before its verdict is drawn. ``destinations``
    (storage.outbox): a notification destination that fails makes the whole degraded."""
    sources: dict[str, dict[str, Any]] = {}
    for source_id in source_ids:
        state = states.get(source_id)
        entry: dict[str, Any] = {
            "last_success": beijing_iso(state.last_success) if state else None,
            "last_checked": beijing_iso(state.last_checked) if state else None,
            "consecutive_failures": state.consecutive_failures if state else 0,
            "last_error": state.last_error if state else None,
            "backoff_until": beijing_iso(state.backoff_until) if state else None,
        }
        if amend is not None:
            amend(source_id, entry)
        entry["status"] = source_verdict(entry["consecutive_failures"], entry["last_error"])
        sources[source_id] = entry
    verdicts = [entry["status"] for entry in sources.values()]
    notifications = {
        name: {**entry, "last_sent": beijing_iso(entry.get("last_sent"))}
        for name, entry in (destinations or {}).items()
    }
    failing_destinations = [name for name, entry in notifications.items() if entry["status"] == "failing"]
    return {
        "status": overall_verdict(verdicts + ["degraded"] * len(failing_destinations), database_error),
        "database_error": database_error,
        "sources": sources,
        "failing_sources": verdicts.count("failing"),
        "notifications": notifications,
        "failing_destinations": failing_destinations,
    }


@dataclass(frozen=True)
class Validators:
    """An ETag / Last-Modified pair as it may be sent back: values that cannot be are dropped (a full
    GET then), whether they come from an answer or from a row an older procwatch stored."""

    etag: str | None
    last_modified: str | None
    status: int = 200  # the answer they came with

    def __post_init__(self) -> None:
        object.__setattr__(self, "etag", verbatim(self.etag, ETAG_CHARS))
        object.__setattr__(self, "last_modified", verbatim(self.last_modified, LAST_MODIFIED_CHARS))


class SourceRepository(Repository):
    """What the crawler remembers between runs, apart from the articles themselves."""

    @writes
    def update_listing(self, list_url: str, urls: Sequence[str], *, at: datetime | None = None) -> list[str] | None:
        """Remember what a list page shows now; returns what it showed last time (None the first time)."""
        with self.transaction() as session:
            row = session.get(Listing, list_url)
            previous = row.urls.split("\n") if row and row.urls else ([] if row else None)
            row = row or Listing(list_url=list_url, urls="", checked_at=at or utcnow())
            row.urls, row.checked_at = "\n".join(urls), at or utcnow()
            session.add(row)
            return previous

    def listing(self, list_url: str) -> list[str] | None:
        """What a list page showed last time (None if never read)."""
        with Session(self.read_engine) as session:
            row = session.get(Listing, list_url)
            return (row.urls.split("\n") if row.urls else []) if row else None

    # -- HTTP validators ---------------------------------------------------------------------------

    def get_validators(self, url: str) -> Validators | None:
        with Session(self.read_engine) as session:
            row = session.get(HttpValidator, url)
            return Validators(row.etag, row.last_modified) if row else None

    # -- sources ------------------------------------------------------------------------------------

    def source_state(self, source_id: str) -> SourceState | None:
        with Session(self.read_engine, expire_on_commit=False) as session:
            return session.get(SourceState, source_id)

    def source_states(self) -> dict[str, SourceState]:
        with Session(self.read_engine, expire_on_commit=False) as session:
            return {s.source_id: s for s in session.exec(select(SourceState)).all()}

    @writes
    def record_source_run(
        self,
        source_id: str,
        *,
        ok: bool,
        error: str | None = None,
        at: datetime | None = None,
        backoff: BackoffPolicy | None = None,
    ) -> SourceState:
        """Update a source's health after one crawl; a failure sets ``backoff_until`` by the caller's policy."""
        at = at or utcnow()
        if ok:  # the common case, once per source and run, a healthy source: one statement, no ORM object
            table = SourceState.__table__  # type: ignore[attr-defined]
            healthy = {"last_checked": at, "last_success": at, "consecutive_failures": 0, "last_error": error}
            statement = (
                update(table)
                .where(table.c.source_id == source_id, table.c.consecutive_failures == 0)
                .values(**healthy, backoff_until=None)
            )
            with self.transaction() as session:
                row = session.execute(statement.returning(*table.c)).mappings().first()
            if row is not None:
                return SourceState(**row)
        with self.transaction() as session:
            state = session.get(SourceState, source_id) or SourceState(source_id=source_id)
            state.last_checked = at
            failures = state.consecutive_failures
            if ok:
                state.last_success, state.consecutive_failures = at, 0
                state.last_error, state.backoff_until = error, None
            else:
                state.consecutive_failures += 1
                state.last_error = error
                state.backoff_until = at + backoff(state.consecutive_failures) if backoff else None
            session.add(state)
            # told in the same transaction: each failed run (rules pick the one that makes their streak),
            # and a recovery with the streak it ends
            if not ok or failures:
                streak = state.consecutive_failures if not ok else failures
                kind = NoticeKind.failing if not ok else NoticeKind.recovered
                started = at.isoformat()
                enqueue(
                    session.connection(),
                    [
                        {
                            "key": f"{kind}:{source_id}:{started}",
                            "kind": str(kind),
                            "source_id": source_id,
                            "count": streak,
                            "note": error,
                            "at": at,
                        }
                    ],
                )
            return state

    @writes
    def claim_due(self, source_id: str, *, due_at: datetime, next_due: datetime) -> bool:
        """Atomically take one due run of a source (cluster mode): True for exactly one caller per due time."""
        with self.transaction() as session:
            state = session.get(SourceState, source_id, with_for_update=True)
            if state is None:
                session.add(SourceState(source_id=source_id, next_due=next_due))
                try:
                    session.flush()
                except IntegrityError:
                    return False
                return True
            if state.next_due is not None and state.next_due > due_at:
                return False
            state.next_due = next_due
            session.add(state)
            return True
