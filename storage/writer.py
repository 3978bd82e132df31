"""The one write path of articles and versions: a batch of fetched pages in one transaction.

For a batch, the writer loads what the archive holds about it (a few bulk queries, whatever the
batch's size), lets :func:`storage.decide.decide` and :mod:`storage.mentions` say what it means (pure
functions: new article, version, revert, copy, near copy, campaigns), then applies that with one
multi-row statement per table. ``record(x)`` is ``record_many([x])``. A reader, and a restart after a
crash, see a batch entirely or not at all. Removals and checks are written here too: no other module
writes articles or versions (tests/test_architecture.py checks it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, bindparam, select, update

from storage.backends import backend
from storage.captures import Captured, CaptureStore
from storage.clock import utcnow
from storage.decide import (
    ArticleRef,
    Edited,
    Extracted,
    Fingerprint,
    Holdings,
    KnownCopy,
    NewArticle,
    NewCopy,
    Outcome,
    Plan,
    Recording,
    Reverted,
    SeenCopy,
    Step,
    StoredArticle,
    VersionRef,
    decide,
    sharing,
)
from storage.kinds import EventKind, NoticeKind
from storage.mentions import (
    FoundMention,
    Sighting,
    Stored,
    campaign_changes,
    campaign_source_changes,
    firsts,
    mention_row,
    new_campaign,
    new_campaign_source,
    sightings_of,
)
from storage.models import fit_row, fit_to_column
from storage.outbox import enqueue, outbox_rows_for_events
from storage.retry import in_retried_transaction
from storage.similarity import from_bytes, to_bytes
from storage.sources import Validators
from storage.tables import (
    ARTICLE,
    BAND,
    CAMPAIGN,
    CAMPAIGN_SOURCE,
    CAPTURE,
    EVENT,
    MENTION,
    REPUBLICATION,
    SIGNATURE,
    SOURCE_STATE,
    VALIDATOR,
    VERSION,
)


class ArchiveWriter:
    """Writes fetched pages, removals and checks. Blocking: async code goes through :class:`storage.Store`."""

    writes = True  # :meth:`storage.Store.run` runs these methods on the writer's threads

    def __init__(self, engine: Engine, captures: CaptureStore | None = None):
        self.engine = engine
        self.backend = backend(engine)
        self.captures = captures  # synced before a batch with captures commits: records first, then pointers

    # -- pages ----------------------------------------------------------------------------------

    def record(
        self,
        source_id: str,
        page: Extracted,
        *,
        fetched_at: datetime | None = None,
        mentions: Sequence[FoundMention] = (),
        validators: tuple[str, Validators] | None = None,
        baseline: bool = False,
    ) -> Outcome:
        """Store one extraction: a new article, a new version, a copy, or nothing new. Idempotent.

        ``mentions`` (campaigns found in the page) are stored in the same transaction as the
        version, so a crash can never leave an article without its campaigns. ``baseline`` (a
        backfill) marks them known rather than new, as a source's first crawl does by itself.
        """
        recording = Recording(source_id, page, mentions, fetched_at, validators, baseline)
        (outcome,) = self.record_many([recording])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def record_many(self, recordings: Sequence[Recording]) -> list[Outcome | Exception]:
        """Store a batch in one transaction; the outcome of each page, in order.

        If the batch fails for a reason other than a lost race (a page the database refuses, a page
        object that raises), each page is then stored on its own, so one bad page costs only itself:
        its entry is the error.
        """
        if not recordings:
            return []
        now = utcnow()
        try:
            return list(self._write(recordings, now))
        except Exception as exc:
            if len(recordings) == 1:
                return [exc]
        outcomes: list[Outcome | Exception] = []
        for r in recordings:
            try:  # the page and its validators in one transaction, as in any batch
                outcomes.extend(self._write([r], now))
            except Exception as exc:  # this page's own failure, reported to its caller alone
                outcomes.append(exc)
        return outcomes

    def _write(self, recordings: Sequence[Recording], now: datetime) -> list[Outcome]:
        if self.captures is not None and any(r.capture is not None for r in recordings):
            self.captures.sync()

        def attempt() -> list[Outcome]:
            with self.engine.begin() as connection:
                batch = _Batch(connection, self.backend, recordings, now)
                plan = decide(recordings, batch.holdings, now=now, fingerprints=batch.fingerprints)
                batch.apply(plan)
                return plan.outcomes()

        # Another writer may insert the same URL, version or campaign first: re-read and decide again.
        return in_retried_transaction(attempt)

    # -- removals, checks, validators -----------------------------------------------------------

    def mark_removed(
        self, url: str, *, at: datetime | None = None, reason: str | None = None, capture: Captured | None = None
    ) -> bool:
        """Mark a live article removed; returns False if it was unknown or already removed (then only
        its check time moves on, so that a re-check of a removed page is not due again at once).
        ``capture``: the answer that said so, as served, stored with the removal's event."""
        at = at or utcnow()
        if capture is not None and self.captures is not None:
            self.captures.sync()
        with self.engine.begin() as connection:
            query = select(ARTICLE.c.id, ARTICLE.c.status, ARTICLE.c.source_id).where(ARTICLE.c.url == url)
            row = connection.execute(query).first()
            if row is None:
                return False
            article_id, status, source_id = row
            if status == "removed":
                connection.execute(update(ARTICLE).where(ARTICLE.c.id == article_id).values(last_checked=at))
                return False
            connection.execute(
                update(ARTICLE)
                .where(ARTICLE.c.id == article_id)
                .values(status="removed", removed_at=at, last_checked=at)
            )
            event = {"article_id": article_id, "kind": str(EventKind.removed), "at": at, "note": reason}
            event_id = connection.execute(
                EVENT.insert().values(fit_row(EVENT, event)).returning(EVENT.c.id)
            ).scalar_one()
            if capture is not None:
                connection.execute(CAPTURE.insert().values(capture.row(event_id=event_id)))
            enqueue(connection, outbox_rows_for_events([event | {"id": event_id, "source_id": source_id}]))
            return True

    def touch(self, url: str, *, at: datetime | None = None) -> None:
        """Note that an article was checked and found unchanged (e.g. a 304)."""
        at = at or utcnow()
        with self.engine.begin() as connection:
            connection.execute(update(ARTICLE).where(ARTICLE.c.url == url).values(last_checked=at, last_seen=at))

    def save_validators(self, url: str, validators: Validators, *, at: datetime | None = None) -> None:
        """The validators of an answer that recorded no page (a list page, a 304)."""
        with self.engine.begin() as connection:
            _save_validators(connection, self.backend, [(url, validators, at or utcnow())])


def _save_validators(connection: Connection, db: Any, answers: Iterable[tuple[str, Validators, datetime]]) -> None:
    rows = {}  # per URL, the last answer wins, as saving them one after another would have it
    for url, v, at in answers:
        row = {"url": url, "last_status": v.status, "checked_at": at}
        if v.status != 304:  # a 304 confirms the validators we sent; keep them
            row |= {"etag": v.etag, "last_modified": v.last_modified}
        rows[url] = fit_row(VALIDATOR, row)
    for columns in {tuple(row) for row in rows.values()}:
        same = [row for row in rows.values() if tuple(row) == columns]
        statement = db.upsert(VALIDATOR)
        updated = {column: statement.excluded[column] for column in columns if column != "url"}
        connection.execute(statement.on_conflict_do_update(index_elements=["url"], set_=updated), same)


class _Batch:
    """One batch's transaction: what the archive holds about it, then the plan applied."""

    def __init__(self, connection: Connection, db: Any, recordings: Sequence[Recording], now: datetime):
        self.connection, self.db, self.recordings, self.now = connection, db, recordings, now
        self.refs: dict[int, ArticleRef] = {}  # one object per stored article, so chains of originals connect
        self.holdings = Holdings()
        self.fingerprints: dict[str, Fingerprint] = {}
        self._load()

    def _where_in(self, query: Any, key: Any, values: Iterable[Any]) -> Iterable[Any]:
        return cast(Iterable[Any], self.db.where_in(self.connection, query, key, values))

    # -- what the archive holds -----------------------------------------------------------------

    def _load(self) -> None:
        urls = list(dict.fromkeys(r.page.url for r in self.recordings))
        held = self.holdings
        self._load_articles(urls)
        unknown = [url for url in urls if url not in held.articles]
        p = REPUBLICATION.c
        copies = list(self._where_in(select(p.url, p.article_id, p.similarity), p.url, unknown))
        fresh: dict[str, Recording] = {}
        copied = {url for url, _, _ in copies}
        for r in self.recordings:
            if r.page.url not in held.articles and r.page.url not in copied:
                fresh.setdefault(r.page.url, r)
        self.fingerprints = {url: r.ready().fingerprint for url, r in fresh.items()}
        first = self._first_with_hash([r.page.content_hash for r in fresh.values()])
        holders: dict[str, list[int]] = defaultdict(list)
        bands = (key for f in self.fingerprints.values() for key in f.bands)
        for key, article_id in self._where_in(select(BAND.c.band, BAND.c.article_id), BAND.c.band, bands):
            holders[key].append(article_id)
        candidates = {
            a for f in self.fingerprints.values() for a in sharing([a for k in f.bands for a in holders.get(k, ())])
        }
        self._load_refs([*first.values(), *candidates, *(article_id for _, article_id, _ in copies)])
        held.copies = {url: KnownCopy(self.refs[article_id], score) for url, article_id, score in copies}
        held.first_with_hash = {h: self.refs[a] for h, a in first.items()}  # decide() follows it to the root
        held.band_holders = {k: [self.refs[a] for a in ids if a in candidates] for k, ids in holders.items()}
        query = select(SIGNATURE.c.article_id, SIGNATURE.c.minhash)
        held.signatures = {a: from_bytes(m) for a, m in self._where_in(query, SIGNATURE.c.article_id, candidates)}

    def _load_articles(self, urls: list[str]) -> None:
        """The batch's URLs already stored, with their versions' hashes and the current version's text."""
        a = ARTICLE.c
        rows = list(
            self._where_in(
                select(a.id, a.url, a.published_at, a.original_id, a.status, a.current_version, a.version_count),
                a.url,
                urls,
            )
        )
        if not rows:
            return
        self._load_refs([row.id for row in rows])
        v = VERSION.c
        versions: dict[int, list[Any]] = defaultdict(list)
        query = select(v.article_id, v.version, v.id, v.content_hash, v.fetched_at, v.published_at)
        for version in self._where_in(query, v.article_id, [row.id for row in rows]):
            versions[version.article_id].append(version)
        current_ids = {
            version.id for row in rows for version in versions[row.id] if version.version == row.current_version
        }
        texts = {
            version_id: (title, body)
            for version_id, title, body in self._where_in(select(v.id, v.title, v.body_text), v.id, current_ids)
        }
        for row in rows:
            by_number = {}
            for version in sorted(versions[row.id], key=lambda x: x.version):
                title, body = texts.get(version.id, ("", ""))
                by_number[version.version] = VersionRef(
                    version.version,
                    version.id,
                    version.content_hash,
                    title,
                    body,
                    version.fetched_at,
                    version.published_at,
                )
            by_hash = {ref.content_hash: ref for ref in by_number.values()}  # the latest with each hash
            current = by_number[row.current_version]
            self.holdings.articles[row.url] = StoredArticle(
                self.refs[row.id], row.status == "removed", current, row.version_count, by_hash
            )

    def _load_refs(self, ids: Iterable[int]) -> None:
        """Stored articles by id, with their chains of originals."""
        wanted = [i for i in set(ids) if i not in self.refs]
        parents: dict[int, int] = {}
        a = ARTICLE.c
        while wanted:
            query = select(a.id, a.url, a.published_at, a.original_id)
            for article_id, url, published_at, original_id in self._where_in(query, a.id, wanted):
                self.refs[article_id] = ArticleRef(article_id, url, published_at)
                if original_id is not None:
                    parents[article_id] = original_id
            wanted = [p for p in set(parents.values()) if p not in self.refs]
        for child, parent in parents.items():
            if parent in self.refs and self.refs[child].original is None:
                self.refs[child].original = self.refs[parent]

    def _first_with_hash(self, hashes: Sequence[str]) -> dict[str, int]:
        """The article first fetched with each content hash (the original of exact copies)."""
        first: dict[str, tuple[datetime, int, int]] = {}
        v = VERSION.c
        query = select(v.content_hash, v.fetched_at, v.id, v.article_id)
        for content_hash, fetched_at, version_id, article_id in self._where_in(query, v.content_hash, hashes):
            if content_hash not in first or (fetched_at, version_id) < first[content_hash][:2]:
                first[content_hash] = (fetched_at, version_id, article_id)
        return {content_hash: article_id for content_hash, (_, _, article_id) in first.items()}

    # -- applying the plan ----------------------------------------------------------------------

    def _insert(self, table: Table, rows: list[dict[str, Any]], *, ids: bool = False, fit: bool = True) -> list[int]:
        """``fit=False``: rows of values the writer made itself (band keys, signatures), not scraped text."""
        fitted = [fit_row(table, r) for r in rows] if fit else rows
        return cast(list[int], self.db.insert_rows(self.connection, table, fitted, ids=ids))

    def apply(self, plan: Plan) -> None:
        new = [s for s in plan.steps if isinstance(s, NewArticle)]
        self._insert_articles(new)
        self._insert_versions(plan)
        # sources with no successful crawl yet: what their pages show was there before procwatch looked
        first_crawl = self._first_crawl({s.recording.source_id for s in plan.steps})
        self._insert_events(plan, first_crawl)
        self._insert(
            SIGNATURE,
            [{"article_id": s.article.id, "minhash": to_bytes(s.fingerprint.signature)} for s in new],
            fit=False,
        )
        self._insert(
            BAND, [{"band": key, "article_id": s.article.id} for s in new for key in s.fingerprint.bands], fit=False
        )
        self._insert(REPUBLICATION, [self._republication(s) for s in plan.steps if isinstance(s, NewCopy)])
        self._update_articles(plan.touched)
        if plan.relinked:
            self.connection.execute(
                update(ARTICLE)
                .where(ARTICLE.c.id == bindparam("target"))
                .values(original_id=bindparam("o"), similarity=bindparam("s")),
                [
                    {"target": ref.known_id, "o": cast(ArticleRef, ref.original).known_id, "s": ref.similarity}
                    for ref in plan.relinked
                ],
            )
        self._record_sightings(self._sightings(plan, first_crawl), {s.article.known_id for s in new})
        _save_validators(
            self.connection,
            self.db,
            [(r.validators[0], r.validators[1], r.fetched_at or self.now) for r in self.recordings if r.validators],
        )

    def _insert_articles(self, new: list[NewArticle]) -> None:
        rows = []
        for step in new:
            r, at = step.recording, step.version.fetched_at
            rows.append(
                {
                    "url": r.page.url,
                    "source_id": r.source_id,
                    "first_seen": at,
                    "last_seen": at,
                    "last_checked": at,
                    "status": "live",
                    "published_at": step.article.published_at,
                    "title": r.page.title,
                    "content_hash": r.page.content_hash,
                    "version_count": 1,
                    "current_version": 1,
                }
            )
        for step, article_id in zip(new, self._insert(ARTICLE, rows, ids=True), strict=True):
            step.article.id = article_id

    def _insert_versions(self, plan: Plan) -> None:
        made: list[tuple[VersionRef, Recording, dict[str, Any]]] = []
        for step in plan.steps:
            if isinstance(step, NewArticle):
                row = self._version_row(step.recording, step.article, step.version, 0)
                made.append((step.version, step.recording, row))
            elif isinstance(step, Edited):
                row = self._version_row(step.recording, step.article.ref, step.version, step.change_chars)
                made.append((step.version, step.recording, row))
        ids = self._insert(VERSION, [row for _, _, row in made], ids=True)
        for (version, _, _), version_id in zip(made, ids, strict=True):
            version.id = version_id
        # the response that made each version, as served: its record is on disk already
        captured = [
            step.recording.capture.row(version_id=step.version.id)
            for step in plan.steps
            if isinstance(step, NewArticle | Edited) and step.recording.capture is not None
        ]
        self._insert(CAPTURE, captured)
        # searchable in the same transaction as it is stored
        tokens = [(version.id, recording.ready().search_tokens) for version, recording, _ in made]
        self.db.search_insert(self.connection, cast(list[tuple[int, str]], tokens))

    @staticmethod
    def _version_row(r: Recording, article: ArticleRef, version: VersionRef, change_chars: int) -> dict[str, Any]:
        page = r.page
        return {
            "article_id": article.known_id,
            "version": version.number,
            "content_hash": page.content_hash,
            "title": page.title,
            "body_text": page.body_text,
            # sanitised (storage.prepare), whatever the adapter (one loaded from outside procwatch
            # included) produced: what the database holds is safe for the feeds, the web view and JSON readers
            "body_html": r.ready().body_html,
            "published_at": page.published_at,
            "source_label": page.source_label,
            "author": page.author,
            "fetched_at": version.fetched_at,
            "encoding": page.encoding,
            "meta_published_at": page.meta_published_at,
            "status": page.status,
            "attachments": "\n".join(page.attachments) or None,
            "change_chars": change_chars,
        }

    def _insert_events(self, plan: Plan, first_crawl: set[str]) -> None:
        """The plan's events, and the outbox rows of those a reader is told of (not a source's first
        crawl or a backfill: what was there before procwatch looked is not news)."""
        rows, told = [], []
        for step in plan.steps:
            r = step.recording
            for row in self._events(step):
                rows.append(row)
                told.append(None if r.baseline or r.source_id in first_crawl else r.source_id)
        ids = self._insert(EVENT, rows, ids=True)
        enqueue(
            self.connection,
            outbox_rows_for_events(
                row | {"id": event_id, "source_id": source_id}
                for row, event_id, source_id in zip(rows, ids, told, strict=True)
                if source_id is not None
            ),
        )

    def _events(self, step: Step) -> list[dict[str, Any]]:
        at = step.recording.fetched_at or self.now

        def event(article: ArticleRef, kind: EventKind, **more: Any) -> dict[str, Any]:
            row = {"article_id": article.known_id, "version_id": None, "kind": str(kind), "at": at}
            return row | {"reported": True, "note": None} | more

        if isinstance(step, NewArticle):
            return [event(step.article, EventKind.published, version_id=step.version.id)]
        if isinstance(step, NewCopy):
            return [event(step.original, EventKind.republished, reported=False, note=step.recording.page.url)]
        if isinstance(step, SeenCopy):
            return []
        ref = step.article.ref
        out = [event(ref, EventKind.restored)] if step.restored else []
        if isinstance(step, Reverted):
            reverted = f"reverted to version {step.version.number}"
            out.append(event(ref, EventKind.edited, version_id=step.version.id, reported=False, note=reverted))
        elif isinstance(step, Edited):
            boring = None if step.reported else step.significance.reason
            out.append(event(ref, EventKind.edited, version_id=step.version.id, reported=step.reported, note=boring))
        return out

    def _republication(self, step: NewCopy) -> dict[str, Any]:
        page = step.recording.page
        return {
            "url": page.url,
            "article_id": step.original.known_id,
            "source_id": step.recording.source_id,
            "first_seen": step.recording.fetched_at or self.now,
            "similarity": step.similarity,
            "published_at": page.published_at,
            "content_hash": page.content_hash,
            # a near-duplicate keeps its own text, so nothing a site published is lost
            "title": None if step.exact else page.title,
            "body_text": None if step.exact else page.body_text,
        }

    def _update_articles(self, touched: list[StoredArticle]) -> None:
        if not touched:
            return
        self.connection.execute(
            update(ARTICLE)
            .where(ARTICLE.c.id == bindparam("target"))
            .values(
                last_seen=bindparam("seen"),
                last_checked=bindparam("seen"),
                status="live",
                removed_at=None,
                current_version=bindparam("current"),
                version_count=bindparam("count"),
                title=bindparam("title_"),
                content_hash=bindparam("hash"),
                published_at=bindparam("published"),
            ),
            [
                {
                    "target": s.ref.known_id,
                    "seen": s.seen_at,
                    "current": s.current.number,
                    "count": s.version_count,
                    "title_": fit_to_column(ARTICLE.c.title, s.current.title),
                    "hash": s.current.content_hash,
                    "published": s.ref.published_at,
                }
                for s in touched
            ],
        )

    # -- campaigns ------------------------------------------------------------------------------

    def _sightings(self, plan: Plan, first_crawl: set[str]) -> list[Sighting]:
        found: list[Sighting] = []
        for step in plan.steps:
            r = step.recording
            if not r.mentions:
                continue
            article: ArticleRef
            version: VersionRef | None = None
            if isinstance(step, NewArticle):
                article, version = step.article, step.version
            elif isinstance(step, Edited):
                article, version = step.article.ref, step.version
            elif isinstance(step, NewCopy):
                article = step.original
            elif isinstance(step, SeenCopy):
                article = step.copy.original
            else:  # unchanged or back to a version whose mentions are stored
                continue
            at = r.fetched_at or self.now
            found += sightings_of(
                r.mentions,
                article=article,
                version=version,
                source_id=r.source_id,
                published_at=r.page.published_at or at,
                seen_at=at,
                baseline=r.baseline or r.source_id in first_crawl,
            )
        return found

    def _first_crawl(self, source_ids: set[str]) -> set[str]:
        """Sources with no successful crawl yet: their mentions are baseline (known at start)."""
        if not source_ids:
            return set()
        s = SOURCE_STATE.c
        query = select(s.source_id).where(s.last_success.is_not(None))
        return source_ids - {row[0] for row in self._where_in(query, s.source_id, sorted(source_ids))}

    def _record_sightings(self, sightings: list[Sighting], new_articles: set[int]) -> None:
        """``new_articles``: the batch's new articles' ids (no mention of them is stored yet)."""
        if not sightings:
            return
        c = CAMPAIGN.c
        overall = firsts(sightings, key=lambda s: s.name)
        names = sorted(overall)  # one order for every writer: overlapping batches cannot deadlock
        ids: dict[str, int] = {}
        stored: dict[str, Stored] = {}
        query = select(c.id, c.name, c.first_published_at, c.first_seen_at)
        for campaign_id, name, published_at, seen_at in self._where_in(query, c.name, names):
            ids[name], stored[name] = campaign_id, Stored(published_at, seen_at)
        for name in names:
            if name not in ids:
                # insert-or-nothing: another writer may create the same name at this moment
                statement = self.db.upsert(CAMPAIGN).values(fit_row(CAMPAIGN, new_campaign(overall[name])))
                row = self.connection.execute(
                    statement.on_conflict_do_nothing(index_elements=["name"]).returning(c.id)
                ).first()
                if row is not None:
                    ids[name] = row[0]
                    continue
                campaign_id, published_at, seen_at = self.connection.execute(
                    select(c.id, c.first_published_at, c.first_seen_at).where(c.name == name)
                ).one()
                ids[name], stored[name] = campaign_id, Stored(published_at, seen_at)
            if changes := campaign_changes(overall[name], stored[name]):
                self.connection.execute(update(CAMPAIGN).where(c.id == ids[name]).values(fit_row(CAMPAIGN, changes)))

        per_source = firsts(sightings, key=lambda s: (ids[s.name], s.source_id))
        cs = CAMPAIGN_SOURCE.c
        known: dict[tuple[int, str], Stored] = {}
        # only the batch's sources: a campaign taken up by hundreds of sources has a row for each
        query = select(cs.campaign_id, cs.source_id, cs.first_published_at, cs.first_seen_at).where(
            cs.source_id.in_(sorted({source_id for _, source_id in per_source}))
        )
        campaigns = sorted({campaign_id for campaign_id, _ in per_source})
        for campaign_id, source_id, published_at, seen_at in self._where_in(query, cs.campaign_id, campaigns):
            known[(campaign_id, source_id)] = Stored(published_at, seen_at)
        missing = sorted(key for key in per_source if key not in known)
        if missing:
            self.connection.execute(
                self.db.upsert(CAMPAIGN_SOURCE).on_conflict_do_nothing(index_elements=["campaign_id", "source_id"]),
                [fit_row(CAMPAIGN_SOURCE, new_campaign_source(key[0], per_source[key])) for key in missing],
            )
            # a campaign a source names for the first time, once procwatch watches it, is news
            news = [key for key in missing if not per_source[key].observed.baseline]
            enqueue(
                self.connection,
                [
                    {
                        "key": f"campaign:{c}:{s}",
                        "kind": str(NoticeKind.campaign),
                        "campaign_id": c,
                        "source_id": s,
                        "at": per_source[(c, s)].observed.seen_at,
                    }
                    for c, s in news
                ],
            )
        for key in sorted(k for k in per_source if k in known):
            if changes := campaign_source_changes(per_source[key], known[key]):
                where = (cs.campaign_id == key[0], cs.source_id == key[1])
                self.connection.execute(update(CAMPAIGN_SOURCE).where(*where).values(fit_row(CAMPAIGN_SOURCE, changes)))
        # every version here is new: no mention of it exists yet
        mentions = [m for s in sightings if (m := mention_row(ids[s.name], s)) is not None]
        self._count_articles(mentions, new_articles)
        self._insert(MENTION, mentions)

    def _count_articles(self, mentions: list[dict[str, Any]], new_articles: set[int]) -> None:
        """Each campaign's count of mentioning articles, for the articles that had not mentioned it yet
        (an edit of an article that already did adds none; a new article is looked up in no mention)."""
        pairs = {(m["campaign_id"], m["article_id"]) for m in mentions}
        m = MENTION.c
        query = select(m.campaign_id, m.article_id)
        stored_before = sorted({article for _, article in pairs} - new_articles)
        known = set(self._where_in(query, m.article_id, stored_before))
        added: dict[int, int] = defaultdict(int)
        for campaign_id, article_id in pairs:
            if (campaign_id, article_id) not in known:
                added[campaign_id] += 1
        if added:
            self.connection.execute(
                update(CAMPAIGN)
                .where(CAMPAIGN.c.id == bindparam("target"))
                .values(articles=CAMPAIGN.c.articles + bindparam("n")),
                [{"target": campaign_id, "n": n} for campaign_id, n in sorted(added.items())],
            )
