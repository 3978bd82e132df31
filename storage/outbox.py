"""The notification outbox and its deliveries: what happened, and who has been told.

An outbox row is written in the transaction that records what it tells (an article event by the
writer, a source's failing streak by the crawl state), through :func:`enqueue`, the one way rows get
there; its ``key`` names what it is about, so the same thing is never queued twice. The notifier
(``crawler.notify``) turns each row into deliveries by the rules (:meth:`OutboxQueries.dispatch`), and
senders take due deliveries with a lease (:meth:`OutboxQueries.claim`): one sender per delivery,
across processes and machines; a sender killed mid-send leaves its lease to expire and the delivery
is sent again, never dropped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from storage.backends import CHUNK, backend
from storage.base import Repository, writes
from storage.kinds import TOLD_EVENTS, NoticeKind
from storage.models import fit_row
from storage.tables import ARTICLE, CAMPAIGN, CAMPAIGN_SOURCE, DELIVERY, EVENT, MENTION, OUTBOX, VERSION

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


def enqueue(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Queue ``rows`` (key, kind, at, and source_id/event_id/campaign_id/count/note as they apply) in
    the caller's transaction; a key already queued is left as it is."""
    if not rows:
        return
    fitted = [fit_row(OUTBOX, row) for row in rows]
    db: Any = backend(connection)
    statement = db.upsert(OUTBOX).on_conflict_do_nothing(index_elements=["key"])
    connection.execute(statement, fitted)


@dataclass
class Notice:
    """One outbox row with what a message about it needs."""

    id: int
    kind: str
    source_id: str | None
    at: datetime
    count: int | None = None
    note: str | None = None
    article_id: int | None = None
    url: str | None = None
    title: str | None = None
    published_at: datetime | None = None
    version: int | None = None
    body: str | None = None  # the version's text (published, edited)
    previous_body: str | None = None  # the version before it (edited)
    campaign: str | None = None  # the campaign a campaign/emerging notice is about
    context: str | None = None  # where that campaign was seen
    campaigns: list[str] = field(default_factory=list)  # campaigns the version mentions

    @property
    def text(self) -> str:
        """What keyword rules read: title and body."""
        return f"{self.title or ''}\n{self.body or ''}"


@dataclass(frozen=True)
class Claimed:
    """A delivery a sender holds until its lease ends."""

    id: int
    outbox_id: int
    rule: str
    destination: str
    attempts: int  # including this one
    due_at: datetime


@dataclass(frozen=True)
class Sent:
    """A line of ``procwatch notify log``."""

    id: int
    rule: str
    destination: str
    status: str
    attempts: int
    due_at: datetime
    sent_at: datetime | None
    last_error: str | None
    kind: str
    source_id: str | None
    title: str | None


class OutboxQueries(Repository):
    """``store.outbox``: reads here; the methods marked ``@writes`` change the outbox and deliveries."""

    def undispatched(self, limit: int = 200) -> list[Notice]:
        """Outbox rows no rule has looked at yet, oldest first."""
        with self.read_engine.connect() as connection:
            ids = connection.execute(
                select(OUTBOX.c.id).where(OUTBOX.c.dispatched_at.is_(None)).order_by(OUTBOX.c.id).limit(limit)
            ).scalars()
            return self._notices(connection, list(ids))

    def notices(self, ids: Iterable[int]) -> dict[int, Notice]:
        with self.read_engine.connect() as connection:
            return {n.id: n for n in self._notices(connection, sorted(set(ids)))}

    def _notices(self, connection: Connection, ids: list[int]) -> list[Notice]:
        if not ids:
            return []
        db: Any = backend(connection)
        o = OUTBOX.c
        rows = list(db.where_in(connection, select(OUTBOX), o.id, ids))
        notices = {r.id: Notice(r.id, r.kind, r.source_id, r.at, r.count, r.note) for r in rows}
        by_event: dict[int, Notice] = {r.event_id: notices[r.id] for r in rows if r.event_id is not None}
        if by_event:
            e, a, v = EVENT.c, ARTICLE.c, VERSION.c
            # a removal or restoration has no version of its own: the article's current one is its text
            current = select(v.id).where(v.article_id == a.id, v.version == a.current_version).scalar_subquery()
            events_query: Any = select(
                e.id, e.article_id, func.coalesce(e.version_id, current), a.url, a.title, a.published_at, a.source_id
            ).select_from(EVENT.join(ARTICLE, a.id == e.article_id))
            versions: dict[int, list[Notice]] = defaultdict(list)
            for event_id, article_id, version_id, url, title, published_at, source_id in db.where_in(
                connection, events_query, e.id, list(by_event)
            ):
                notice = by_event[event_id]
                notice.article_id, notice.url, notice.title = article_id, url, title
                notice.published_at, notice.source_id = published_at, notice.source_id or source_id
                if version_id is not None:
                    versions[version_id].append(notice)
            if versions:
                versions_query: Any = select(v.id, v.article_id, v.version, v.title, v.body_text)
                for version_id, article_id, number, title, body in db.where_in(
                    connection, versions_query, v.id, list(versions)
                ):
                    previous = None
                    if number > 1:
                        previous = connection.execute(
                            select(v.body_text)
                            .where(v.article_id == article_id, v.version < number)
                            .order_by(v.version.desc())
                            .limit(1)
                        ).scalar()
                    for notice in versions[version_id]:
                        notice.version, notice.body, notice.title = number, body, title or notice.title
                        notice.previous_body = previous if notice.kind == NoticeKind.edited else None
                m, c = MENTION.c, CAMPAIGN.c
                mentions_query: Any = select(m.version_id, c.name).select_from(
                    MENTION.join(CAMPAIGN, c.id == m.campaign_id)
                )
                for version_id, name in db.where_in(connection, mentions_query, m.version_id, list(versions)):
                    for notice in versions[version_id]:
                        notice.campaigns.append(name)
        campaigns = {r.id: r.campaign_id for r in rows if r.campaign_id is not None}
        if campaigns:
            c, cs = CAMPAIGN.c, CAMPAIGN_SOURCE.c
            names = dict(connection.execute(select(c.id, c.name).where(c.id.in_(set(campaigns.values())))).all())
            for outbox_id, campaign_id in campaigns.items():
                notice = notices[outbox_id]
                notice.campaign = names.get(campaign_id)
                row = connection.execute(
                    select(cs.context, cs.article_id, ARTICLE.c.url, ARTICLE.c.title, cs.first_published_at)
                    .select_from(CAMPAIGN_SOURCE.join(ARTICLE, ARTICLE.c.id == cs.article_id))
                    .where(cs.campaign_id == campaign_id, cs.source_id == notice.source_id)
                ).first()
                if row is not None:
                    notice.context, notice.article_id, notice.url, notice.title, notice.published_at = row
        return [notices[i] for i in ids if i in notices]

    @writes
    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        """Queue rows that no recording goes with (emerging campaigns)."""
        with self.engine.begin() as connection:
            enqueue(connection, rows)

    @writes
    def dispatch(self, outbox_ids: Sequence[int], deliveries: Sequence[dict[str, Any]], *, at: datetime) -> None:
        """Mark outbox rows as looked at and add their deliveries (outbox_id, rule, destination,
        due_at), in one transaction: two notifiers dispatching the same row add each delivery once."""
        with self.engine.begin() as connection:
            if deliveries:
                rows = [{"status": PENDING, "attempts": 0} | d for d in deliveries]
                db: Any = backend(connection)
                statement = db.upsert(DELIVERY).on_conflict_do_nothing(
                    index_elements=["outbox_id", "rule", "destination"]
                )
                connection.execute(statement, rows)
            for start in range(0, len(outbox_ids), CHUNK):
                chunk = list(outbox_ids[start : start + CHUNK])
                connection.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id.in_(chunk), OUTBOX.c.dispatched_at.is_(None))
                    .values(dispatched_at=at)
                )

    @writes
    def claim(self, *, now: datetime, lease: timedelta, limit: int = 50) -> list[Claimed]:
        """Take due deliveries (and those whose sender's lease ran out) for ``lease``: each is given to
        one caller only, whichever process or machine asks."""
        d = DELIVERY.c
        due = or_(and_(d.status == PENDING, d.due_at <= now), and_(d.status == SENDING, d.lease_until < now))
        # asked first without the write lock: an idle notifier must not take SQLite's every few seconds
        # from the crawls and the `procwatch fetch` beside them
        with self.read_engine.connect() as connection:
            if connection.execute(select(d.id).where(due).limit(1)).first() is None:
                return []
        with self.engine.begin() as connection:
            # SKIP LOCKED: on PostgreSQL two senders take different rows instead of waiting for each
            # other (ignored by SQLite, where the transaction holds the only write lock)
            wanted = select(d.id).where(due).order_by(d.due_at, d.id).limit(limit).with_for_update(skip_locked=True)
            ids = list(connection.execute(wanted).scalars())
            if not ids:
                return []
            rows = connection.execute(
                update(DELIVERY)
                .where(d.id.in_(ids), due)
                .values(status=SENDING, lease_until=now + lease, attempts=d.attempts + 1)
                .returning(d.id, d.outbox_id, d.rule, d.destination, d.attempts, d.due_at)
            ).all()
        return sorted((Claimed(*row) for row in rows), key=lambda c: (c.due_at, c.id))

    @writes
    def delivered(self, ids: Sequence[int], *, at: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(DELIVERY)
                .where(DELIVERY.c.id.in_(list(ids)))
                .values(status=SENT, sent_at=at, lease_until=None, last_error=None)
            )

    @writes
    def failed(self, ids: Sequence[int], *, error: str, retry_at: datetime | None) -> None:
        """A send failed: try again at ``retry_at``, or give up (None)."""
        values: dict[str, Any] = {"last_error": error[:2000], "lease_until": None}
        values |= {"status": PENDING, "due_at": retry_at} if retry_at is not None else {"status": FAILED}
        with self.engine.begin() as connection:
            connection.execute(update(DELIVERY).where(DELIVERY.c.id.in_(list(ids))).values(**values))

    def log(self, *, limit: int = 50, status: str | None = None) -> list[Sent]:
        """Deliveries, newest first: what was sent, what waits, what failed and why."""
        d, o, a = DELIVERY.c, OUTBOX.c, ARTICLE.c
        query = (
            select(
                d.id,
                d.rule,
                d.destination,
                d.status,
                d.attempts,
                d.due_at,
                d.sent_at,
                d.last_error,
                o.kind,
                o.source_id,
                func.coalesce(a.title, o.note),
            )
            .select_from(
                DELIVERY.join(OUTBOX, o.id == d.outbox_id)
                .outerjoin(EVENT, EVENT.c.id == o.event_id)
                .outerjoin(ARTICLE, a.id == EVENT.c.article_id)
            )
            .order_by(d.id.desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(d.status == status)
        with self.read_engine.connect() as connection:
            return [Sent(*row) for row in connection.execute(query)]

    def destinations(self, names: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
        """Per destination (those named, and any with deliveries): messages waiting, retrying after a
        failure, given up; the last error and the last success; ``status`` failing while its newest
        finished send failed or a send waits for a retry."""
        d = DELIVERY.c

        def empty() -> dict[str, Any]:
            return {"status": "ok", "waiting": 0, "retrying": 0, "failed": 0, "last_error": None, "last_sent": None}

        out: dict[str, dict[str, Any]] = {name: empty() for name in names}
        with self.read_engine.connect() as connection:
            tried = d.attempts > 0
            counts = select(d.destination, d.status, tried, func.count()).where(d.status != SENT)
            for destination, status, was_tried, count in connection.execute(
                counts.group_by(d.destination, d.status, tried)
            ):
                entry = out.setdefault(destination, empty())
                if status == FAILED:
                    entry["failed"] += count
                else:
                    entry["retrying" if was_tried else "waiting"] += count
            finished = select(d.destination, d.status, d.sent_at, d.last_error).where(
                d.id.in_(select(func.max(d.id)).where(d.status.in_((SENT, FAILED))).group_by(d.destination))
            )
            for destination, status, _, error in connection.execute(finished):
                entry = out.setdefault(destination, empty())
                if status == FAILED:
                    entry["status"], entry["last_error"] = "failing", error
            for destination, last in connection.execute(
                select(d.destination, func.max(d.sent_at)).where(d.status == SENT).group_by(d.destination)
            ):
                out.setdefault(destination, empty())["last_sent"] = last
            retrying = select(d.destination, d.last_error).where(d.status != SENT, d.last_error.is_not(None))
            for destination, error in connection.execute(retrying.order_by(d.id.desc()).limit(1000)):
                entry = out.setdefault(destination, empty())
                entry["status"] = "failing"
                entry["last_error"] = entry["last_error"] or error
        return out


def outbox_rows_for_events(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The outbox rows of freshly inserted event rows (with their ids): what a reader is told of."""
    return [
        {
            "key": f"event:{e['id']}",
            "kind": e["kind"],
            "event_id": e["id"],
            "at": e["at"],
            "source_id": e.get("source_id"),
        }
        for e in events
        if e.get("reported", True) and e["kind"] in TOLD_EVENTS
    ]
