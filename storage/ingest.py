"""Recording a batch of fetched pages in one transaction, with bulk statements for new URLs.

One transaction per page made the commit cost more than recording the page; the ORM's objects and
flushes cost more again (232 pages/s). A batch shares one transaction and, for URLs never seen
before (nearly every page the crawler stores), its statements: one lookup per kind for the whole
batch and one multi-row INSERT per table. Pages of URLs already stored (edits, reverts,
restorations) take :class:`~storage.articles.ArticleRepository`'s single-page path inside the same
transaction. A reader, and a restart after a crash, see a batch entirely or not at all: every
article is stored with its version, event, signature and campaigns, or not at all.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Select, Table, any_, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from storage.articles import (
    MAX_CANDIDATES,
    MIN_SHARED_BANDS,
    ArticleRepository,
    Extracted,
    Outcome,
    OutcomeKind,
    _published_earlier,
)
from storage.base import CHUNK
from storage.campaigns import FoundMention, baseline_sources, moves_origin
from storage.clock import utcnow
from storage.models import (
    Article,
    ArticleSignature,
    ArticleVersion,
    Campaign,
    CampaignMention,
    CampaignSource,
    Event,
    EventKind,
    HttpValidator,
    Republication,
    SignatureBand,
    fit_to_column,
)
from storage.retry import in_retried_transaction
from storage.sanitize import ensure_sanitized
from storage.similarity import NEAR_DUPLICATE, Signature, band_keys, from_bytes, signature, similarity, to_bytes
from storage.sources import SourceRepository, Validators

ARTICLE = cast(Table, Article.__table__)  # type: ignore[attr-defined]
VERSION = cast(Table, ArticleVersion.__table__)  # type: ignore[attr-defined]
EVENT = cast(Table, Event.__table__)  # type: ignore[attr-defined]
REPUBLICATION = cast(Table, Republication.__table__)  # type: ignore[attr-defined]
SIGNATURE = cast(Table, ArticleSignature.__table__)  # type: ignore[attr-defined]
BAND = cast(Table, SignatureBand.__table__)  # type: ignore[attr-defined]
CAMPAIGN = cast(Table, Campaign.__table__)  # type: ignore[attr-defined]
CAMPAIGN_SOURCE = cast(Table, CampaignSource.__table__)  # type: ignore[attr-defined]
MENTION = cast(Table, CampaignMention.__table__)  # type: ignore[attr-defined]
VALIDATOR = cast(Table, HttpValidator.__table__)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Recording:
    """One fetched page for :meth:`BatchRecording.record_many`."""

    source_id: str
    page: Extracted
    mentions: Sequence[FoundMention] = ()
    fetched_at: datetime | None = None
    #: the URL fetched and its HTTP validators, saved in the same transaction as the page they vouch
    #: for (saved before it, they would answer 304 next time for content never kept)
    validators: tuple[str, Validators] | None = None
    #: a backfill's page: its campaigns are known at start, not new (a source's first crawl is by itself)
    baseline: bool = False


@dataclass(eq=False)
class _Article:
    """An article a page of the batch may be a copy of: stored already, or new in this batch."""

    id: int | None  # None until a new article is inserted
    url: str
    published_at: datetime | None
    original: _Article | None = None  # the first publisher, when this one is a later copy
    similarity: float | None = None
    original_changed: bool = False
    # new in this batch:
    recording: Recording | None = None
    sig: Signature | None = None
    bands: list[str] = field(default_factory=list)
    version_id: int | None = None

    def root(self) -> _Article:
        article = self
        while article.original is not None:
            article = article.original
        return article


@dataclass(eq=False)
class _Copy:
    recording: Recording
    original: _Article
    similarity: float
    exact: bool


@dataclass
class _Batch:
    """What one batch decided: articles to insert, copies to note, stored articles found to be copies."""

    new: list[_Article] = field(default_factory=list)
    copies: list[_Copy] = field(default_factory=list)
    by_hash: dict[str, _Article] = field(default_factory=dict)
    by_band: dict[str, list[_Article]] = field(default_factory=lambda: defaultdict(list))


def _fitted(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """The row with its texts fitted to their columns, as the ORM's hook does for ORM writes."""
    columns = table.c
    return {key: fit_to_column(columns[key], value) if isinstance(value, str) else value for key, value in row.items()}


def _insert_rows(connection: Connection, table: Table, rows: list[dict[str, Any]], *, ids: bool = False) -> list[int]:
    """Insert ``rows`` in bulk; with ``ids``, the new rows' ids, in the order of ``rows``.

    The ids are drawn before the insert and written with the rows: from the table's sequence on
    PostgreSQL; on SQLite after the largest id, which no one else can take meanwhile (a write
    transaction holds the database's write lock from its start). The rows then go straight to the
    driver: COPY on PostgreSQL (a multi-row INSERT of thousands of values spent longer building and
    parsing its statement than storing the rows), executemany on SQLite, with each column's own
    conversion applied (SQLAlchemy's per-row work cost more than SQLite's).
    """
    if not rows:
        return []
    new_ids: list[int] = []
    if ids:
        if connection.dialect.name == "postgresql":
            draw = select(func.nextval(func.pg_get_serial_sequence(table.name, "id")))
            new_ids = list(connection.execute(draw.select_from(func.generate_series(1, len(rows)))).scalars())
        else:
            last = connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
            new_ids = list(range(last + 1, last + 1 + len(rows)))
        rows = [{"id": new_id, **row} for new_id, row in zip(new_ids, rows, strict=True)]
    columns = list(rows[0])
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        assert driver is not None
        cursor = driver.cursor()  # psycopg's, in this transaction
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[column] for column in columns])
        return new_ids
    dialect = connection.dialect
    converters = [table.c[column].type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
    values = [
        tuple(
            value if convert is None or value is None else convert(value)
            for convert, value in zip(converters, (row[column] for column in columns), strict=True)
        )
        for row in rows
    ]
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    connection.exec_driver_sql(sql, values)
    return new_ids


def _where_in(connection: Connection, query: Select[Any], key: Any, values: Iterable[Any]) -> Iterator[Any]:
    """Rows of ``query`` whose ``key`` is one of ``values``: one statement with an array on PostgreSQL (thousands of
    placeholders cost more to parse than the query takes to run), chunks of IN (...) on SQLite."""
    wanted = list(dict.fromkeys(values))
    if not wanted:
        return
    if connection.dialect.name == "postgresql":
        array = bindparam("wanted", wanted, type_=postgresql.ARRAY(key.type))
        yield from connection.execute(query.where(key == any_(array)))
        return
    for start in range(0, len(wanted), CHUNK):
        yield from connection.execute(query.where(key.in_(wanted[start : start + CHUNK])))


class BatchRecording(ArticleRepository, SourceRepository):
    """``record_many``: the crawler's write path (through :meth:`storage.Store.submit`)."""

    def record_many(self, recordings: Sequence[Recording]) -> list[Outcome | Exception]:
        """Store a batch in one transaction; the outcome of each page, in order.

        If the batch fails for a reason other than a lost race (a page the database refuses, a page
        object that raises), each page is stored on its own, so one bad page costs only itself: its
        entry is then the error.
        """
        if not recordings:
            return []
        now = utcnow()

        def attempt() -> list[Outcome | Exception]:
            with self.transaction() as session:
                return list(self._record_batch(session, recordings, now))

        try:
            return in_retried_transaction(attempt)
        except Exception:
            if len(recordings) == 1:
                raise
        outcomes: list[Outcome | Exception] = []
        for r in recordings:
            try:  # a batch of one: the page and its validators in one transaction, as in any batch
                outcomes.extend(self.record_many([replace(r, fetched_at=r.fetched_at or now)]))
            except Exception as exc:  # this page's own failure, reported to its caller alone
                outcomes.append(exc)
        return outcomes

    def _record_batch(self, session: Session, recordings: Sequence[Recording], now: datetime) -> list[Outcome]:
        connection = session.connection()
        urls = list(dict.fromkeys(r.page.url for r in recordings))
        known = self._values_present(session, Article.url, urls)
        republished = _republications(connection, [u for u in urls if u not in known])
        fresh: list[int] = []  # first page of a URL nobody stored: the bulk path
        seen: set[str] = set()
        for index, r in enumerate(recordings):
            if r.page.url not in known and r.page.url not in republished and r.page.url not in seen:
                fresh.append(index)
            seen.add(r.page.url)
        outcomes: dict[int, Outcome] = {}
        if fresh:
            outcomes.update(zip(fresh, _record_new(connection, [recordings[i] for i in fresh], now), strict=True))
        for index, r in enumerate(recordings):
            if index in outcomes:
                continue
            if r.page.url in republished:
                outcomes[index] = republished[r.page.url]
                if r.mentions:
                    _add_mentions(connection, [(outcomes[index], r, now)])
                continue
            # A URL stored before, or twice in this batch: the single-page path, in this transaction.
            at = r.fetched_at or now
            outcome = self._record(session, r.source_id, r.page, at)
            if r.mentions and outcome.kind in (OutcomeKind.new, OutcomeKind.changed, OutcomeKind.duplicate):
                self._add_mentions(
                    session,
                    outcome.article_id,
                    outcome.version_id,
                    r.source_id,
                    r.mentions,
                    r.page.published_at or at,
                    at,
                    baseline=r.baseline,
                )
            session.flush()
            outcomes[index] = outcome
        _save_validators(connection, recordings, now)
        return [outcomes[i] for i in range(len(recordings))]


def _republications(connection: Connection, urls: Sequence[str]) -> dict[str, Outcome]:
    """Pages already known as copies of an article: nothing to write."""
    out = {}
    query = select(REPUBLICATION.c.url, REPUBLICATION.c.article_id, REPUBLICATION.c.similarity, ARTICLE.c.url).join(
        ARTICLE, ARTICLE.c.id == REPUBLICATION.c.article_id
    )
    for url, article_id, score, original_url in _where_in(connection, query, REPUBLICATION.c.url, urls):
        out[url] = Outcome(
            OutcomeKind.duplicate, url, article_id, duplicate_of=original_url, similarity=score, reported=False
        )
    return out


class _Stored:
    """Stored articles loaded by id, with their chains of originals."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.by_id: dict[int, _Article] = {}

    def load(self, ids: Iterable[int]) -> None:
        wanted = [i for i in set(ids) if i not in self.by_id]
        parents: dict[int, int] = {}
        while wanted:
            query = select(ARTICLE.c.id, ARTICLE.c.url, ARTICLE.c.published_at, ARTICLE.c.original_id)
            for article_id, url, published_at, original_id in _where_in(self.connection, query, ARTICLE.c.id, wanted):
                self.by_id[article_id] = _Article(article_id, url, published_at)
                if original_id is not None:
                    parents[article_id] = original_id
            wanted = [p for p in set(parents.values()) if p not in self.by_id]
        for child, parent in parents.items():
            if parent in self.by_id:
                self.by_id[child].original = self.by_id[parent]


def _record_new(connection: Connection, recordings: Sequence[Recording], now: datetime) -> list[Outcome]:
    """Pages of URLs never stored: each a new article or a copy of one (stored or earlier in the batch)."""
    sigs = [signature(r.page.normalised_text) for r in recordings]
    bands = [band_keys(sig) for sig in sigs]
    stored = _Stored(connection)
    first_by_hash = _first_with_hash(connection, [r.page.content_hash for r in recordings])
    shared = _shared_bands(connection, bands)
    stored.load([*first_by_hash.values(), *(a for c in shared for a in c)])
    signatures = _signatures(connection, {a for c in shared for a in c})

    batch = _Batch()
    decisions: list[_Article | _Copy] = []
    for r, sig, keys, candidates in zip(recordings, sigs, bands, shared, strict=True):
        original, score, exact = None, 1.0, True
        if (found := first_by_hash.get(r.page.content_hash)) is not None:
            original = stored.by_id[found].root()
        elif (earlier := batch.by_hash.get(r.page.content_hash)) is not None:
            original = earlier.root()
        else:
            original, score, exact = *_nearest(sig, keys, candidates, signatures, stored, batch), False
        if original is not None and not _published_earlier(r.page.published_at, original.published_at):
            copy = _Copy(r, original, score, exact)
            batch.copies.append(copy)
            decisions.append(copy)
            continue
        article = _Article(
            None, r.page.url, r.page.published_at or r.fetched_at or now, recording=r, sig=sig, bands=keys
        )
        if original is not None:
            # The article we knew turns out to be a later copy of this one: the first publisher is the original.
            original.original, original.similarity, original.original_changed = article, score, True
        batch.new.append(article)
        batch.by_hash.setdefault(r.page.content_hash, article)
        for key in keys:
            batch.by_band[key].append(article)
        decisions.append(article)

    _insert_articles(connection, batch.new, now)
    _insert_copies(connection, batch.copies, now)
    changed = [a for a in [*batch.new, *stored.by_id.values()] if a.original_changed and a.original is not None]
    if changed:
        connection.execute(
            update(ARTICLE)
            .where(ARTICLE.c.id == bindparam("target"))
            .values(original_id=bindparam("o"), similarity=bindparam("s")),
            [{"target": a.id, "o": cast(_Article, a.original).id, "s": a.similarity} for a in changed],
        )
    outcomes = []
    for decision, r in zip(decisions, recordings, strict=True):
        if isinstance(decision, _Copy):
            original = decision.original
            outcomes.append(
                Outcome(
                    OutcomeKind.duplicate,
                    r.page.url,
                    cast(int, original.id),
                    duplicate_of=original.url,
                    similarity=decision.similarity,
                    reported=False,
                )
            )
        else:
            outcomes.append(Outcome(OutcomeKind.new, r.page.url, cast(int, decision.id), 1, decision.version_id))
    _add_mentions(connection, [(o, r, now) for o, r in zip(outcomes, recordings, strict=True) if r.mentions])
    return outcomes


def _first_with_hash(connection: Connection, hashes: Sequence[str]) -> dict[str, int]:
    """The article first fetched with each content hash (the original of exact copies)."""
    first: dict[str, tuple[datetime, int, int]] = {}
    query = select(VERSION.c.content_hash, VERSION.c.fetched_at, VERSION.c.id, VERSION.c.article_id)
    for content_hash, fetched_at, version_id, article_id in _where_in(
        connection, query, VERSION.c.content_hash, hashes
    ):
        if content_hash not in first or (fetched_at, version_id) < first[content_hash][:2]:
            first[content_hash] = (fetched_at, version_id, article_id)
    return {content_hash: article_id for content_hash, (_, _, article_id) in first.items()}


def _shared_bands(connection: Connection, bands: Sequence[list[str]]) -> list[list[int]]:
    """For each page, the stored articles sharing at least MIN_SHARED_BANDS of its bands, most first."""
    holders: dict[str, list[int]] = defaultdict(list)
    wanted = (key for keys in bands for key in keys)
    for key, article_id in _where_in(connection, select(BAND.c.band, BAND.c.article_id), BAND.c.band, wanted):
        holders[key].append(article_id)
    return [_sharing([article_id for key in keys for article_id in holders.get(key, ())]) for keys in bands]


def _sharing(holders: list[Any]) -> list[Any]:
    """Of the holders of a page's bands (one entry per shared band), those sharing enough, most first."""
    if len(holders) < MIN_SHARED_BANDS:
        return []
    return [a for a, n in Counter(holders).most_common(MAX_CANDIDATES) if n >= MIN_SHARED_BANDS]


def _signatures(connection: Connection, ids: set[int]) -> dict[int, Signature]:
    query = select(SIGNATURE.c.article_id, SIGNATURE.c.minhash)
    found = _where_in(connection, query, SIGNATURE.c.article_id, ids)
    return {article_id: from_bytes(minhash) for article_id, minhash in found}


def _nearest(
    sig: Signature,
    keys: list[str],
    candidates: list[int],
    signatures: dict[int, Signature],
    stored: _Stored,
    batch: _Batch,
) -> tuple[_Article | None, float]:
    """The most similar article above the near-duplicate threshold, stored or new in this batch."""
    best, best_score = None, NEAR_DUPLICATE
    scored: list[tuple[_Article, Signature]] = [(stored.by_id[a], signatures[a]) for a in candidates if a in signatures]
    scored += [(a, cast(Signature, a.sig)) for a in _sharing([a for key in keys for a in batch.by_band.get(key, ())])]
    for article, other in scored:
        score = similarity(sig, other)
        if score >= best_score:
            best, best_score = article, score
    if best is None:
        return None, 0.0
    return best.root(), round(best_score, 3)


def _insert_articles(connection: Connection, new: list[_Article], now: datetime) -> None:
    if not new:
        return
    rows = []
    for article in new:
        r = cast(Recording, article.recording)
        at = r.fetched_at or now
        rows.append(
            _fitted(
                ARTICLE,
                {
                    "url": r.page.url,
                    "source_id": r.source_id,
                    "first_seen": at,
                    "last_seen": at,
                    "last_checked": at,
                    "status": "live",
                    "published_at": article.published_at,
                    "title": r.page.title,
                    "content_hash": r.page.content_hash,
                    "version_count": 1,
                    "current_version": 1,
                },
            )
        )
    for article, article_id in zip(new, _insert_rows(connection, ARTICLE, rows, ids=True), strict=True):
        article.id = article_id
    versions = []
    for article in new:
        r, page = cast(Recording, article.recording), cast(Recording, article.recording).page
        versions.append(
            _fitted(
                VERSION,
                {
                    "article_id": article.id,
                    "version": 1,
                    "content_hash": page.content_hash,
                    "title": page.title,
                    "body_text": page.body_text,
                    # sanitised here, whatever the adapter produced: what the database holds is safe as it is
                    "body_html": ensure_sanitized(page.body_html, page.url),
                    "published_at": page.published_at,
                    "source_label": page.source_label,
                    "author": page.author,
                    "fetched_at": r.fetched_at or now,
                    "encoding": page.encoding,
                    "meta_published_at": page.meta_published_at,
                    "status": page.status,
                    "attachments": "\n".join(page.attachments) or None,
                    "change_chars": 0,
                },
            )
        )
    for article, version_id in zip(new, _insert_rows(connection, VERSION, versions, ids=True), strict=True):
        article.version_id = version_id
    _insert_rows(
        connection,
        EVENT,
        [
            {
                "article_id": a.id,
                "version_id": a.version_id,
                "kind": str(EventKind.published),
                "at": cast(Recording, a.recording).fetched_at or now,
                "reported": True,
                "note": None,
            }
            for a in new
        ],
    )
    _insert_rows(
        connection, SIGNATURE, [{"article_id": a.id, "minhash": to_bytes(cast(Signature, a.sig))} for a in new]
    )
    _insert_rows(connection, BAND, [{"band": key, "article_id": a.id} for a in new for key in a.bands])


def _insert_copies(connection: Connection, copies: list[_Copy], now: datetime) -> None:
    if not copies:
        return
    rows, events = [], []
    for copy in copies:
        page, at, original = copy.recording.page, copy.recording.fetched_at or now, copy.original
        rows.append(
            _fitted(
                REPUBLICATION,
                {
                    "url": page.url,
                    "article_id": original.id,
                    "source_id": copy.recording.source_id,
                    "first_seen": at,
                    "similarity": copy.similarity,
                    "published_at": page.published_at,
                    "content_hash": page.content_hash,
                    # a near-duplicate keeps its own text, so nothing a site published is lost
                    "title": None if copy.exact else page.title,
                    "body_text": None if copy.exact else page.body_text,
                },
            )
        )
        events.append(
            {
                "article_id": original.id,
                "version_id": None,
                "kind": str(EventKind.republished),
                "at": at,
                "reported": False,
                "note": page.url,
            }
        )
    _insert_rows(connection, REPUBLICATION, rows)
    _insert_rows(connection, EVENT, events)


def _save_validators(connection: Connection, recordings: Sequence[Recording], now: datetime) -> None:
    rows = {}  # per URL, the last answer wins, as saving them one after another would have it
    for r in recordings:
        if r.validators is not None:
            url, v = r.validators
            row = {"url": url, "last_status": v.status, "checked_at": r.fetched_at or now}
            if v.status != 304:  # a 304 confirms the validators we sent; keep them
                row |= {"etag": v.etag, "last_modified": v.last_modified}
            rows[url] = _fitted(VALIDATOR, row)
    for columns in {tuple(row) for row in rows.values()}:
        same = [row for row in rows.values() if tuple(row) == columns]
        statement = _dialect_insert(connection)(VALIDATOR)
        updated = {column: statement.excluded[column] for column in columns if column != "url"}
        connection.execute(statement.on_conflict_do_update(index_elements=["url"], set_=updated), same)


def _dialect_insert(connection: Connection) -> Any:
    """The dialect's INSERT, which has ON CONFLICT (SQLite and PostgreSQL alike)."""
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


def _add_mentions(connection: Connection, recorded: Sequence[tuple[Outcome, Recording, datetime]]) -> None:
    """The campaigns of a batch's pages: first mention overall, first per source, a row per new version.

    The same rules as :meth:`storage.campaigns.CampaignRepository.record_mentions`, in a few statements
    for the whole batch instead of several per mention.
    """
    # (name, kind, article_id, version_id, source_id, count, context, published_at, seen_at, baseline),
    # in the batch's order
    first_crawl = baseline_sources(connection, [r.source_id for _, r, _ in recorded if r.mentions])
    found = []
    for outcome, r, now in recorded:
        seen_at = r.fetched_at or now  # the recorded time of the version carrying the mention
        for mention in sorted(r.mentions, key=lambda m: m.name):
            context = mention.contexts[0] if mention.contexts else ""
            found.append(
                (
                    mention.name,
                    str(mention.kind),
                    outcome.article_id,
                    outcome.version_id,
                    r.source_id,
                    mention.count,
                    context,
                    r.page.published_at or seen_at,
                    seen_at,
                    r.baseline or r.source_id in first_crawl,
                )
            )
    if not found:
        return
    earliest: dict[str, tuple[Any, ...]] = {}  # the origin: earliest published
    observed: dict[str, tuple[Any, ...]] = {}  # novelty: earliest seen
    for item in found:
        if item[0] not in earliest or item[7] < earliest[item[0]][7]:
            earliest[item[0]] = item
        if item[0] not in observed or item[8] < observed[item[0]][8]:
            observed[item[0]] = item
    names = sorted(earliest)  # one order for every writer: overlapping batches cannot deadlock
    ids: dict[str, int] = {}
    first: dict[str, tuple[datetime | None, datetime]] = {}
    query = select(CAMPAIGN.c.id, CAMPAIGN.c.name, CAMPAIGN.c.first_published_at, CAMPAIGN.c.first_seen_at)
    for campaign_id, name, first_published_at, first_seen_at in _where_in(connection, query, CAMPAIGN.c.name, names):
        ids[name], first[name] = campaign_id, (first_published_at, first_seen_at)
    insert_or_nothing = _dialect_insert(connection)
    for name in names:
        _, kind, article_id, _, source_id, _, context, published_at, _, _ = earliest[name]
        seen_at, baseline = observed[name][8], observed[name][9]
        if name not in ids:
            # insert-or-nothing: another writer may create the same name at this moment
            row = connection.execute(
                insert_or_nothing(CAMPAIGN)
                .values(
                    _fitted(
                        CAMPAIGN,
                        {
                            "name": name,
                            "kind": kind,
                            "first_seen_at": seen_at,
                            "first_published_at": published_at,
                            "baseline": baseline,
                            "first_article_id": article_id,
                            "first_source_id": source_id,
                            "first_context": context,
                        },
                    )
                )
                .on_conflict_do_nothing(index_elements=["name"])
                .returning(CAMPAIGN.c.id)
            ).first()
            if row is not None:
                ids[name] = row[0]
                continue
            ids[name], *stored = connection.execute(
                select(CAMPAIGN.c.id, CAMPAIGN.c.first_published_at, CAMPAIGN.c.first_seen_at).where(
                    CAMPAIGN.c.name == name
                )
            ).one()
            first[name] = (stored[0], stored[1])
        if moves_origin(published_at, first[name][0]):  # a backfilled older article moves the origin
            connection.execute(
                update(CAMPAIGN)
                .where(CAMPAIGN.c.id == ids[name])
                .values(
                    first_published_at=published_at,
                    first_article_id=article_id,
                    first_source_id=source_id,
                    first_context=context,
                )
            )
        if seen_at < first[name][1]:  # another writer's later observation was stored first
            connection.execute(
                update(CAMPAIGN).where(CAMPAIGN.c.id == ids[name]).values(first_seen_at=seen_at, baseline=baseline)
            )

    per_source: dict[tuple[int, str], tuple[Any, ...]] = {}
    per_source_seen: dict[tuple[int, str], tuple[Any, ...]] = {}
    for item in found:
        key = (ids[item[0]], item[4])
        if key not in per_source or item[7] < per_source[key][7]:
            per_source[key] = item
        if key not in per_source_seen or item[8] < per_source_seen[key][8]:
            per_source_seen[key] = item
    known: dict[tuple[int, str], tuple[datetime | None, datetime]] = {}
    # only the batch's sources: a campaign taken up by hundreds of sources has a row for each
    sources = sorted({source_id for _, source_id in per_source})
    query = select(
        CAMPAIGN_SOURCE.c.campaign_id,
        CAMPAIGN_SOURCE.c.source_id,
        CAMPAIGN_SOURCE.c.first_published_at,
        CAMPAIGN_SOURCE.c.first_seen_at,
    ).where(CAMPAIGN_SOURCE.c.source_id.in_(sources))
    campaigns = sorted({campaign_id for campaign_id, _ in per_source})
    for campaign_id, source_id, first_published_at, first_seen_at in _where_in(
        connection, query, CAMPAIGN_SOURCE.c.campaign_id, campaigns
    ):
        known[(campaign_id, source_id)] = (first_published_at, first_seen_at)
    missing = sorted(key for key in per_source if key not in known)
    if missing:
        connection.execute(
            insert_or_nothing(CAMPAIGN_SOURCE).on_conflict_do_nothing(index_elements=["campaign_id", "source_id"]),
            [
                _fitted(
                    CAMPAIGN_SOURCE,
                    {
                        "campaign_id": key[0],
                        "source_id": key[1],
                        "first_seen_at": per_source_seen[key][8],
                        "first_published_at": per_source[key][7],
                        "baseline": per_source_seen[key][9],
                        "article_id": per_source[key][2],
                        "context": per_source[key][6],
                    },
                )
                for key in missing
            ],
        )
    for key in sorted(k for k in per_source if k in known):
        item, seen = per_source[key], per_source_seen[key]
        where = (CAMPAIGN_SOURCE.c.campaign_id == key[0], CAMPAIGN_SOURCE.c.source_id == key[1])
        if moves_origin(item[7], known[key][0]):
            connection.execute(
                update(CAMPAIGN_SOURCE)
                .where(*where)
                .values(first_published_at=item[7], article_id=item[2], context=item[6])
            )
        if seen[8] < known[key][1]:
            connection.execute(update(CAMPAIGN_SOURCE).where(*where).values(first_seen_at=seen[8], baseline=seen[9]))
    rows = [
        _fitted(
            MENTION,
            {
                "campaign_id": ids[name],
                "version_id": version_id,
                "article_id": article_id,
                "source_id": source_id,
                "count": count,
                "context": context,
                "seen_at": published_at,
            },
        )
        for name, _, article_id, version_id, source_id, count, context, published_at, _, _ in found
        if version_id is not None
    ]
    # every version here is new (a page stored again keeps the single-page path): no mention exists yet
    _insert_rows(connection, MENTION, rows)
