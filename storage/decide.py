"""What a batch of fetched pages means for the archive: new articles, versions, reverts, copies.

Pure: :func:`decide` is a function of the batch and of what the archive already holds
(:class:`Holdings`, loaded by :mod:`storage.writer`), with no SQL, so each rule lives here once and
is tested on its own. Pages are decided in the batch's order, each seeing what the earlier ones
decided (the same URL twice, a copy of a page earlier in the batch). The writer applies the plan in
one transaction and reads each step's :class:`Outcome` once the rows have their ids.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar, Protocol, TypeVar

from storage.captures import Captured
from storage.diff import change_size
from storage.mentions import FoundMention
from storage.sanitize import ensure_sanitized
from storage.search_terms import document_tokens
from storage.significance import Significance, classify
from storage.similarity import NEAR_DUPLICATE, Signature, band_keys, signature, similarity
from storage.sources import Validators

MIN_SHARED_BANDS = 2
MAX_CANDIDATES = 20
# A copy dated this much earlier than the article we know is taken to be the true original.
EARLIER_BY = timedelta(hours=12)


class Extracted(Protocol):
    """What the pipeline hands to storage for one fetched article page."""

    # read-only properties: a frozen dataclass (crawler.extract.ExtractedArticle) satisfies them

    @property
    def url(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def body_text(self) -> str: ...

    @property
    def body_html(self) -> str: ...

    @property
    def published_at(self) -> datetime | None: ...

    @property
    def source_label(self) -> str | None: ...

    @property
    def author(self) -> str | None: ...

    @property
    def content_hash(self) -> str: ...

    @property
    def encoding(self) -> str | None: ...

    @property
    def normalised_text(self) -> str: ...  # title and body in matching form, for near-duplicate search

    @property
    def meta_published_at(self) -> datetime | None: ...  # the meta tag's date when the page displays another

    @property
    def status(self) -> str: ...  # ok, short, media, attachment

    @property
    def attachments(self) -> tuple[str, ...]: ...  # document links in the body (PDF, Word ...)


@dataclass(frozen=True)
class Recording:
    """One fetched page to record (:meth:`storage.writer.ArchiveWriter.record_many`)."""

    source_id: str
    page: Extracted
    mentions: Sequence[FoundMention] = ()
    fetched_at: datetime | None = None
    #: the URL fetched and its HTTP validators, saved in the same transaction as the page they vouch
    #: for (saved before it, they would answer 304 next time for content never kept)
    validators: tuple[str, Validators] | None = None
    #: a backfill's page: its campaigns are known at start, not new (a source's first crawl is by itself)
    baseline: bool = False
    #: the response as served (storage.captures), stored with the version it makes, if it makes one
    capture: Captured | None = None
    #: what storing it computes from its text alone (:func:`prepare`), once it has been made
    prepared: Prepared | None = field(default=None, init=False, repr=False, compare=False)

    def ready(self) -> Prepared:
        """:func:`prepare` of the page, made once whichever step of the write asks first."""
        prepared = self.prepared
        if prepared is None:
            prepared = prepare(self.page)
            object.__setattr__(self, "prepared", prepared)
        return prepared


class OutcomeKind(StrEnum):
    new = "new"
    changed = "changed"
    reverted = "reverted"  # back to an earlier version's content (A -> B -> A)
    unchanged = "unchanged"
    duplicate = "duplicate"


@dataclass(frozen=True)
class Outcome:
    """What recording one extraction did."""

    kind: OutcomeKind
    url: str
    article_id: int
    version: int | None = None
    version_id: int | None = None
    duplicate_of: str | None = None
    restored: bool = False
    reported: bool = True  # False for boring edits and flip-flops
    similarity: float | None = None


# What the archive holds -------------------------------------------------------------------------


@dataclass(eq=False)
class ArticleRef:
    """An article: stored already, or new in this batch (its ``id`` is set when the writer inserts it)."""

    id: int | None
    url: str
    published_at: datetime | None
    original: ArticleRef | None = None  # the first publisher, when this one is a later copy
    similarity: float | None = None

    def root(self) -> ArticleRef:
        article = self
        while article.original is not None:
            article = article.original
        return article

    @property
    def known_id(self) -> int:
        assert self.id is not None, f"{self.url} has not been inserted yet"
        return self.id


@dataclass(eq=False)
class VersionRef:
    """A version: stored already, or new in this batch (``id`` set when inserted)."""

    number: int
    id: int | None
    content_hash: str
    title: str
    body_text: str
    fetched_at: datetime
    published_at: datetime | None


@dataclass(eq=False)
class StoredArticle:
    """An article the batch's URLs name, as stored (and as the batch's earlier pages leave it)."""

    ref: ArticleRef
    removed: bool
    current: VersionRef
    version_count: int
    by_hash: dict[str, VersionRef]  # the latest version with each content hash
    seen_at: datetime | None = None  # set when this batch checked the article: its row is to be updated


@dataclass(frozen=True)
class KnownCopy:
    """A URL already recorded as a copy of an article: nothing to write."""

    original: ArticleRef
    similarity: float


@dataclass
class Holdings:
    """What the archive already holds that a batch's decisions depend on (loaded by the writer)."""

    articles: dict[str, StoredArticle] = field(default_factory=dict)  # by URL
    copies: dict[str, KnownCopy] = field(default_factory=dict)  # by URL
    first_with_hash: dict[str, ArticleRef] = field(default_factory=dict)  # earliest fetched article per content hash
    band_holders: dict[str, list[ArticleRef]] = field(default_factory=dict)  # stored articles per signature band
    signatures: dict[int, Signature] = field(default_factory=dict)  # by stored article id


@dataclass(frozen=True)
class Fingerprint:
    """A page's MinHash signature and its band keys (the index near-duplicates are looked up by)."""

    signature: Signature
    bands: list[str]


def fingerprint(page: Extracted) -> Fingerprint:
    sig = signature(page.normalised_text)
    return Fingerprint(sig, band_keys(sig))


@dataclass(frozen=True)
class Prepared:
    """What storing a page computes from its text alone: its fingerprint, its search index tokens and
    its body's HTML made safe. The writer makes it: made on the pipeline's extraction thread instead,
    the crawl of 1,000 portals took 187-200 s against 149 (its threads contending with the event loop
    for the GIL, where the writer makes a batch's in one go)."""

    fingerprint: Fingerprint
    search_tokens: str
    body_html: str  # storage.sanitize.ensure_sanitized of the page's


def prepare(page: Extracted) -> Prepared:
    return Prepared(
        fingerprint(page),
        document_tokens(f"{page.title}\n{page.body_text}"),
        ensure_sanitized(page.body_html, page.url),
    )


# The decision -----------------------------------------------------------------------------------


@dataclass(eq=False)
class NewArticle:
    recording: Recording
    article: ArticleRef
    version: VersionRef
    fingerprint: Fingerprint

    def outcome(self) -> Outcome:
        return Outcome(OutcomeKind.new, self.article.url, self.article.known_id, 1, self.version.id)


@dataclass(eq=False)
class NewCopy:
    """A URL never seen whose content is an article's we hold (exactly, or nearly)."""

    recording: Recording
    original: ArticleRef
    similarity: float
    exact: bool

    def outcome(self) -> Outcome:
        return Outcome(
            OutcomeKind.duplicate,
            self.recording.page.url,
            self.original.known_id,
            duplicate_of=self.original.url,
            similarity=self.similarity,
            reported=False,
        )


@dataclass(eq=False)
class SeenCopy:
    recording: Recording
    copy: KnownCopy

    def outcome(self) -> Outcome:
        original = self.copy.original
        return Outcome(
            OutcomeKind.duplicate,
            self.recording.page.url,
            original.known_id,
            duplicate_of=original.url,
            similarity=self.copy.similarity,
            reported=False,
        )


@dataclass(eq=False)
class _Again:
    """A page of a URL the archive holds: it is now at ``version`` (restored, if it was removed)."""

    recording: Recording
    article: StoredArticle
    version: VersionRef
    restored: bool

    kind: ClassVar[OutcomeKind]

    @property
    def reported(self) -> bool:
        return True

    def outcome(self) -> Outcome:
        ref = self.article.ref
        number, version_id = self.version.number, self.version.id
        return Outcome(
            self.kind, ref.url, ref.known_id, number, version_id, restored=self.restored, reported=self.reported
        )


@dataclass(eq=False)
class Unchanged(_Again):
    kind = OutcomeKind.unchanged


@dataclass(eq=False)
class Reverted(_Again):
    """A -> B -> A: the content is stored already; the flip is noted and kept quiet."""

    kind = OutcomeKind.reverted

    @property
    def reported(self) -> bool:
        return False


@dataclass(eq=False)
class Edited(_Again):
    """A new version; ``significance`` says whether a reader is told (a visit counter is not news)."""

    kind = OutcomeKind.changed
    change_chars: int
    significance: Significance

    @property
    def reported(self) -> bool:
        return self.significance.reported


Step = NewArticle | NewCopy | SeenCopy | Unchanged | Reverted | Edited


@dataclass
class Plan:
    """What to write for a batch: one step per page, in the batch's order."""

    steps: list[Step]
    #: articles found to be later copies of an article new in this batch (``original`` set), once each
    relinked: list[ArticleRef]

    @property
    def touched(self) -> list[StoredArticle]:
        """Stored articles whose row changes (checked, restored, a new current version), once each."""
        seen: dict[int, StoredArticle] = {}
        for step in self.steps:
            if isinstance(step, Unchanged | Reverted | Edited):
                seen[id(step.article)] = step.article
        return list(seen.values())

    def outcomes(self) -> list[Outcome]:
        return [step.outcome() for step in self.steps]


def published_earlier(candidate: datetime | None, known: datetime | None) -> bool:
    """A copy dated clearly earlier than the article we know is the true original."""
    return candidate is not None and known is not None and candidate < known - EARLIER_BY


H = TypeVar("H", bound=Hashable)


def sharing(holders: list[H]) -> list[H]:
    """Of the holders of a page's bands (one entry per shared band), those sharing enough, most first."""
    # A true near-duplicate (J >= 0.8) shares ~6.5 of 16 bands; demanding two keeps ~99 % of them
    # and drops most chance matches, each of which would cost a signature comparison.
    if len(holders) < MIN_SHARED_BANDS:
        return []
    return [a for a, n in Counter(holders).most_common(MAX_CANDIDATES) if n >= MIN_SHARED_BANDS]


class _Decider:
    def __init__(self, holdings: Holdings, fingerprints: dict[str, Fingerprint], now: datetime):
        self.holdings = holdings
        self.fingerprints = fingerprints
        self.now = now
        # articles new in this batch, for the pages after them
        self.by_hash: dict[str, ArticleRef] = {}
        self.by_band: dict[str, list[ArticleRef]] = {}
        self.signatures: dict[int, Signature] = {}  # by id() of a new ArticleRef
        self.relinked: dict[int, ArticleRef] = {}  # by id()

    def step(self, r: Recording) -> Step:
        url = r.page.url
        at = r.fetched_at or self.now
        stored = self.holdings.articles.get(url)
        if stored is not None:
            return self._again(r, stored, at)
        copy = self.holdings.copies.get(url)
        if copy is not None:
            return SeenCopy(r, copy)
        return self._unknown(r, at)

    def _again(self, r: Recording, stored: StoredArticle, at: datetime) -> Step:
        page = r.page
        restored, stored.removed, stored.seen_at = stored.removed, False, at
        current = stored.current
        if current.content_hash == page.content_hash:
            return Unchanged(r, stored, current, restored)
        earlier = stored.by_hash.get(page.content_hash)
        if earlier is not None:
            self._make_current(stored, earlier)
            return Reverted(r, stored, earlier, restored)
        version = VersionRef(
            stored.version_count + 1, None, page.content_hash, page.title, page.body_text, at, page.published_at
        )
        significance = classify(
            f"{current.title}\n{current.body_text}",
            f"{page.title}\n{page.body_text}",
            old_fetched=current.fetched_at,
            new_fetched=at,
        )
        stored.version_count = version.number
        stored.by_hash[page.content_hash] = version
        self._make_current(stored, version)
        return Edited(r, stored, version, restored, change_size(current.body_text, page.body_text), significance)

    @staticmethod
    def _make_current(stored: StoredArticle, version: VersionRef) -> None:
        stored.current = version
        if version.published_at:
            stored.ref.published_at = version.published_at

    def _unknown(self, r: Recording, at: datetime) -> Step:
        page = r.page
        found = self.fingerprints.get(page.url) or r.ready().fingerprint
        original, score, exact = self.holdings.first_with_hash.get(page.content_hash), 1.0, True
        if original is None:
            original = self.by_hash.get(page.content_hash)
        if original is not None:
            original = original.root()
        else:
            original, score = self._nearest(found)
            exact = False
        if original is not None and not published_earlier(page.published_at, original.published_at):
            return NewCopy(r, original, score, exact)
        article = ArticleRef(None, page.url, page.published_at or at)
        if original is not None:
            # The article we knew turns out to be a later copy of this one: the first publisher is the original.
            original.original, original.similarity = article, score
            self.relinked[id(original)] = original
        version = VersionRef(1, None, page.content_hash, page.title, page.body_text, at, page.published_at)
        self.by_hash.setdefault(page.content_hash, article)
        for key in found.bands:
            self.by_band.setdefault(key, []).append(article)
        self.signatures[id(article)] = found.signature
        self.holdings.articles[page.url] = StoredArticle(article, False, version, 1, {page.content_hash: version})
        return NewArticle(r, article, version, found)

    def _nearest(self, found: Fingerprint) -> tuple[ArticleRef | None, float]:
        """The most similar article above the near-duplicate threshold, stored or new in this batch."""
        held = self.holdings
        scored: list[tuple[ArticleRef, Signature]] = []
        for ref in sharing([a for key in found.bands for a in held.band_holders.get(key, ())]):
            if ref.id is not None and ref.id in held.signatures:
                scored.append((ref, held.signatures[ref.id]))
        for ref in sharing([a for key in found.bands for a in self.by_band.get(key, ())]):
            scored.append((ref, self.signatures[id(ref)]))
        best, best_score = None, NEAR_DUPLICATE
        for ref, other in scored:
            score = similarity(found.signature, other)
            if score >= best_score:
                best, best_score = ref, score
        if best is None:
            return None, 0.0
        return best.root(), round(best_score, 3)


def decide(
    recordings: Sequence[Recording],
    holdings: Holdings,
    *,
    now: datetime,
    fingerprints: dict[str, Fingerprint] | None = None,
) -> Plan:
    """The plan for a batch. ``holdings`` is updated as pages are decided (a page of a URL seen
    earlier in the batch builds on what that one decided); ``fingerprints`` are signatures the
    writer computed already to look up band holders, by URL."""
    decider = _Decider(holdings, fingerprints or {}, now)
    steps: list[Step] = [decider.step(r) for r in recordings]
    return Plan(steps, list(decider.relinked.values()))
