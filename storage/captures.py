"""Captures: the responses that made a new version or a removal, kept as they were served, in WARC.

Each capture is a WARC/1.1 ``request`` record and a ``response`` record (warcio), appended to rolling
``.warc.gz`` files (one gzip member per record, so a record can be read, or handed out, alone) in the
archive's capture directory. Each writing process has files of its own (its pid and start time in the
name): several processes writing one archive never interleave. A payload the directory already holds
(the same digest at the same URL) is written as a ``revisit`` record pointing at the first.

A record is on disk (fsynced, once for a whole batch: :meth:`CaptureStore.sync`, called by the writer)
before its pointer (:class:`CaptureRef`) is stored with the version it proves, in the version's own
transaction: a kill leaves at worst a record nothing points at (`procwatch verify` lists those), never
a version pointing at a record that is not there.

The body kept is the entity the server sent, with its transfer and content codings removed (the
fetcher decodes within its size cap); the headers say so: ``Content-Encoding`` and ``Content-Length``
are kept under ``X-Procwatch-Original-*`` and the record's own ``Content-Length`` is the body's.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from base64 import b32encode
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, Engine, func, select

from storage.errors import CaptureError
from storage.tables import CAPTURE, VERSION

CAPTURES_ENV = "PROCWATCH_CAPTURES"  # the capture directory, instead of the default beside the database
ROLL_BYTES = 100_000_000  # a file is closed and another begun past this size
_RENAMED = ("content-encoding", "content-length", "transfer-encoding")


@dataclass(frozen=True)
class Served:
    """One answer as the fetcher got it."""

    url: str
    status: int
    reason: str
    headers: Sequence[tuple[str, str]]
    body: bytes
    fetched_at: datetime
    request_headers: Sequence[tuple[str, str]] = ()

    @cached_property
    def digest(self) -> str:
        """The body's WARC payload digest (asked for a revisit's lookup, then written: hashed once)."""
        return payload_digest(self.body)


@dataclass(frozen=True)
class CaptureRef:
    """Where a capture is: its file (relative to the capture directory), the offset and length of its
    response (or revisit) record there, its payload digest and WARC record id."""

    file: str
    offset: int
    length: int
    digest: str
    record_id: str
    revisit: bool = False


@dataclass(frozen=True)
class Captured:
    """A capture written, waiting to be stored with the version or removal it proves."""

    ref: CaptureRef
    url: str
    status: int
    fetched_at: datetime

    def row(self, *, version_id: int | None = None, event_id: int | None = None) -> dict[str, object]:
        """Its row in the ``capture`` table."""
        ref = self.ref
        return {
            "url": self.url,
            "fetched_at": self.fetched_at,
            "status": self.status,
            "file": ref.file,
            "record_offset": ref.offset,
            "record_length": ref.length,
            "digest": ref.digest,
            "record_id": ref.record_id,
            "revisit": ref.revisit,
            "version_id": version_id,
            "event_id": event_id,
        }


def payload_digest(body: bytes) -> str:
    """WARC's payload digest: SHA-1 in base32, as warcio writes it."""
    return "sha1:" + b32encode(hashlib.sha1(body).digest()).decode("ascii")


def _encode(served: Served, revisit_of: tuple[CaptureRef, str, datetime] | None) -> tuple[bytes, bytes, str]:
    """(the request record, the response or revisit record, its record id), each one gzip member."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    digest = served.digest
    headers = []
    for name, value in served.headers:
        renamed = name.lower() in _RENAMED
        headers.append((f"X-Procwatch-Original-{name}" if renamed else name, value))
    headers.append(("Content-Length", str(len(served.body))))
    date = served.fetched_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    http = StatusAndHeaders(f"{served.status} {served.reason}".strip(), headers, protocol="HTTP/1.1")
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True, warc_version="WARC/1.1")
    path = served.url.split("/", 3)[3] if served.url.count("/") >= 3 else ""
    request = StatusAndHeaders(f"GET /{path} HTTP/1.1", list(served.request_headers), is_http_request=True)
    writer.write_record(
        writer.create_warc_record(served.url, "request", http_headers=request, warc_headers_dict={"WARC-Date": date})
    )
    split = buffer.tell()
    if revisit_of is not None:
        earlier, earlier_url, earlier_date = revisit_of
        record = writer.create_revisit_record(
            served.url,
            digest,
            earlier_url,
            earlier_date.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            http_headers=http,
        )
        record.rec_headers.add_header("WARC-Date", date)
        record.rec_headers.add_header("WARC-Refers-To", earlier.record_id)
    else:
        record = writer.create_warc_record(
            served.url,
            "response",
            payload=io.BytesIO(served.body),
            length=len(served.body),
            http_headers=http,
            warc_headers_dict={"WARC-Date": date, "WARC-Payload-Digest": digest},
        )
    writer.write_record(record)
    data = buffer.getvalue()
    return data[:split], data[split:], str(record.rec_headers.get_header("WARC-Record-ID"))


def _first_record(data: bytes, where: str) -> tuple[dict[str, str], int, list[tuple[str, str]], bytes]:
    from warcio.archiveiterator import ArchiveIterator

    for record in ArchiveIterator(io.BytesIO(data)):
        warc = dict(record.rec_headers.headers)
        status = int((record.http_headers.get_statuscode() if record.http_headers else 0) or 0)
        headers = list(record.http_headers.headers) if record.http_headers else []
        return warc, status, headers, record.content_stream().read()
    raise ValueError(f"{where}: no WARC record there")


class CaptureStore:
    """Writes and reads captures: records appended to this process's current file (local files, or
    objects in an S3-compatible store: :func:`open_captures`)."""

    location = ""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def write(self, served: Served, *, revisit_of: tuple[CaptureRef, str, datetime] | None = None) -> CaptureRef:
        """Append ``served`` (a request and a response record, or a revisit of ``revisit_of``: the
        earlier capture of the same payload, its URL and date) and return where its record is; it is
        durable once :meth:`sync` returns."""
        request, response, record_id = _encode(served, revisit_of)
        with self._lock:
            name, offset = self._append(request + response)
        return CaptureRef(
            name, offset + len(request), len(response), served.digest, record_id, revisit=revisit_of is not None
        )

    def read(self, ref: CaptureRef) -> tuple[dict[str, str], int, list[tuple[str, str]], bytes]:
        """(WARC headers, HTTP status, HTTP headers, payload) of the record ``ref`` points at."""
        return _first_record(self.record_bytes(ref), self.where(ref))

    def records(self) -> Iterator[tuple[str, int, str, str]]:
        """Every response or revisit record stored: (file, offset, record id, payload digest)."""
        from warcio.archiveiterator import ArchiveIterator

        for name, stream in self._files():
            iterator = ArchiveIterator(stream)
            for record in iterator:
                if record.rec_type in ("response", "revisit"):
                    yield (
                        name,
                        iterator.get_record_offset(),
                        str(record.rec_headers.get_header("WARC-Record-ID")),
                        str(record.rec_headers.get_header("WARC-Payload-Digest")),
                    )

    def where(self, ref: CaptureRef) -> str:
        return f"{self.location}/{ref.file} at {ref.offset}"

    def record_bytes(self, ref: CaptureRef) -> bytes:
        """The record alone: one gzip member, itself a valid .warc.gz."""
        raise NotImplementedError

    def sync(self) -> None:
        """Every record written so far durable (called before the versions pointing at them commit)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _append(self, data: bytes) -> tuple[str, int]:
        raise NotImplementedError

    def _files(self) -> Iterator[tuple[str, IO[bytes]]]:
        raise NotImplementedError

    @staticmethod
    def _new_name(sequence: int) -> str:
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
        return f"procwatch-{stamp}-{os.getpid()}-{sequence:05d}.warc.gz"


class LocalCaptures(CaptureStore):
    """Rolling files under ``directory`` (made when the first capture is written), fsynced by sync()."""

    def __init__(self, directory: Path, *, roll_bytes: int = ROLL_BYTES):
        super().__init__()
        self.directory = directory
        self.location = str(directory)
        self.roll_bytes = roll_bytes
        self._file: io.BufferedWriter | None = None
        self._unsynced = False
        self._name = ""
        self._sequence = 0

    def record_bytes(self, ref: CaptureRef) -> bytes:
        with (self.directory / ref.file).open("rb") as handle:
            handle.seek(ref.offset)
            return handle.read(ref.length)

    def sync(self) -> None:
        with self._lock:
            if self._unsynced and self._file is not None:
                os.fsync(self._file.fileno())
            self._unsynced = False

    def close(self) -> None:
        with self._lock:
            self._close()

    def _append(self, data: bytes) -> tuple[str, int]:
        if self._file is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._sequence += 1
            self._name = self._new_name(self._sequence)
            self._file = (self.directory / self._name).open("ab")
        offset = self._file.tell()
        self._file.write(data)
        self._file.flush()
        self._unsynced = True
        name = self._name
        if self._file.tell() >= self.roll_bytes:
            self._close()
        return name, offset

    def _files(self) -> Iterator[tuple[str, IO[bytes]]]:
        for path in sorted(self.directory.glob("*.warc.gz")) if self.directory.is_dir() else []:
            with path.open("rb") as handle:
                yield path.name, handle

    def _close(self) -> None:
        if self._file is not None:
            if self._unsynced:  # a file rolled over: what it holds is on disk before the next one begins
                os.fsync(self._file.fileno())
                self._unsynced = False
            self._file.close()
            self._file = None


class ObjectCaptures(CaptureStore):
    """Captures in an S3-compatible store (``s3://bucket/prefix``), shared by every machine of a
    cluster: the records written since the last sync() are put as one object (a put is whole or
    absent: a kill loses only records nothing points at yet). Endpoint and credentials come from
    boto3's own settings (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID`` ...)."""

    def __init__(self, url: str):
        super().__init__()
        parts = urlsplit(url)
        self.bucket, self.prefix = parts.netloc, parts.path.strip("/")
        self.location = url.rstrip("/")
        self._buffer = io.BytesIO()
        self._name = ""
        self._sequence = 0
        self._client: Any = None

    def record_bytes(self, ref: CaptureRef) -> bytes:
        answer = self._s3().get_object(
            Bucket=self.bucket, Key=self._key(ref.file), Range=f"bytes={ref.offset}-{ref.offset + ref.length - 1}"
        )
        return bytes(answer["Body"].read())

    def sync(self) -> None:
        with self._lock:
            if self._buffer.tell():
                self._s3().put_object(Bucket=self.bucket, Key=self._key(self._name), Body=self._buffer.getvalue())
                self._buffer = io.BytesIO()
                self._name = ""

    def close(self) -> None:
        self.sync()

    def _append(self, data: bytes) -> tuple[str, int]:
        if not self._name:
            self._sequence += 1
            self._name = self._new_name(self._sequence)
        offset = self._buffer.tell()
        self._buffer.write(data)
        return self._name, offset

    def _files(self) -> Iterator[tuple[str, IO[bytes]]]:
        pages = self._s3().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._key(""))
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"].rsplit("/", 1)[-1]
                if name.endswith(".warc.gz"):
                    yield name, self._s3().get_object(Bucket=self.bucket, Key=item["Key"])["Body"]

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def _s3(self) -> Any:
        if self._client is None:
            try:
                import boto3
            except ImportError:
                raise CaptureError(f"captures in {self.location} need boto3 (pip install 'procwatch[s3]')") from None
            self._client = boto3.client("s3")
        return self._client


def open_captures(location: str | Path) -> CaptureStore:
    """The capture store at ``location``: ``s3://bucket/prefix``, or a directory."""
    text = str(location)
    return ObjectCaptures(text) if text.startswith("s3://") else LocalCaptures(Path(text))


def default_directory(engine: Engine) -> str | Path:
    """$PROCWATCH_CAPTURES (a directory, or ``s3://bucket/prefix``), else beside a SQLite database
    (``archive.sqlite3`` -> ``archive.captures``), else under the user's data directory, one per
    PostgreSQL database."""
    configured = os.environ.get(CAPTURES_ENV)
    if configured:
        return configured
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database)
        return path.with_name(path.stem + ".captures")
    from platformdirs import user_data_path

    return user_data_path("procwatch") / "captures" / f"{url.host or 'local'}-{url.port or 5432}-{url.database}"


@dataclass(frozen=True)
class StoredCapture:
    """A capture as the archive knows it: its row, and where its record is."""

    id: int
    url: str
    fetched_at: datetime
    status: int
    ref: CaptureRef
    version_id: int | None
    event_id: int | None


@dataclass
class Verification:
    """What `procwatch verify` found; ``ok`` when nothing points at a missing or altered record."""

    checked: int = 0
    missing: list[str] = field(default_factory=list)  # a row whose record is not where it says
    altered: list[str] = field(default_factory=list)  # a record whose payload digest is not its row's
    unreferenced: int = 0  # records no row points at (a crawl stopped between the two, or one that stored nothing new)
    uncaptured_versions: int = 0  # versions stored before captures existed, or while they were off

    @property
    def ok(self) -> bool:
        return not self.missing and not self.altered


class Evidence:
    """The archive's captures: written before the version they prove, read for the web view and verify."""

    # Captures are file appends (and a read of earlier digests): they run beside the database's writer,
    # not queued behind its transactions
    writes = False

    def __init__(self, engine: Engine, location: str | Path | None = None):
        self.engine = engine
        self.files = open_captures(location or default_directory(engine))

    def capture(self, served: Served) -> Captured:
        """Write ``served``; a payload this URL was already captured with becomes a revisit record."""
        with self.engine.connect() as connection:
            earlier = connection.execute(
                select(CAPTURE)
                .where(CAPTURE.c.digest == served.digest, CAPTURE.c.url == served.url, CAPTURE.c.revisit.is_(False))
                .order_by(CAPTURE.c.id)
                .limit(1)
            ).first()
        revisit_of = (self._ref(earlier), earlier.url, earlier.fetched_at) if earlier is not None else None
        ref = self.files.write(served, revisit_of=revisit_of)
        return Captured(ref, served.url, served.status, served.fetched_at)

    def of_version(self, version_id: int) -> StoredCapture | None:
        return self._one(CAPTURE.c.version_id == version_id)

    def of_event(self, event_id: int) -> StoredCapture | None:
        return self._one(CAPTURE.c.event_id == event_id)

    def get(self, capture_id: int) -> StoredCapture | None:
        return self._one(CAPTURE.c.id == capture_id)

    def ids_for(self, version_ids: Sequence[int], event_ids: Sequence[int]) -> tuple[dict[int, int], dict[int, int]]:
        """The capture id of each of these versions and events that has one (for links, in one query)."""
        if not version_ids and not event_ids:
            return {}, {}
        query = select(CAPTURE.c.id, CAPTURE.c.version_id, CAPTURE.c.event_id).where(
            CAPTURE.c.version_id.in_(list(version_ids)) | CAPTURE.c.event_id.in_(list(event_ids))
        )
        versions: dict[int, int] = {}
        events: dict[int, int] = {}
        with self.engine.connect() as connection:
            for capture_id, version_id, event_id in connection.execute(query.order_by(CAPTURE.c.id)):
                if version_id is not None:
                    versions[version_id] = capture_id
                if event_id is not None:
                    events[event_id] = capture_id
        return versions, events

    def payload(self, capture: StoredCapture) -> tuple[dict[str, str], int, list[tuple[str, str]], bytes]:
        """The capture's record read; a revisit's payload is its first capture's (the same digest and URL)."""
        warc, status, headers, payload = self.files.read(capture.ref)
        original = self.original_of(capture) if capture.ref.revisit else None
        if original is not None:
            payload = self.files.read(original.ref)[3]
        return warc, status, headers, payload

    def original_of(self, capture: StoredCapture) -> StoredCapture | None:
        """The first capture of a revisit's payload (the same digest at the same URL)."""
        return self._one(
            (CAPTURE.c.digest == capture.ref.digest) & (CAPTURE.c.url == capture.url) & CAPTURE.c.revisit.is_(False),
            first=True,
        )

    def verify(self) -> Verification:
        """Both ways: every row's record is there with its digest; every record is counted, those no
        row points at reported (never an error: a kill between the record and its row leaves one)."""
        found = Verification()
        referenced: set[tuple[str, int]] = set()
        with self.engine.connect() as connection:
            rows = list(connection.execute(select(CAPTURE).order_by(CAPTURE.c.id)))
            versions = connection.execute(select(func.count()).select_from(VERSION)).scalar_one()
            captured = connection.execute(
                select(func.count(func.distinct(CAPTURE.c.version_id))).where(CAPTURE.c.version_id.is_not(None))
            ).scalar_one()
        found.uncaptured_versions = int(versions) - int(captured)
        for row in rows:
            found.checked += 1
            ref = self._ref(row)
            referenced.add((ref.file, ref.offset))
            where = f"capture {row.id} ({row.url}): {self.files.where(ref)}"
            try:
                warc, _status, _headers, payload = self.files.read(ref)
            except Exception as exc:  # not there, cut short, or not a WARC record any more: all one to a reader
                found.missing.append(f"{where}: {type(exc).__name__}: {exc}".splitlines()[0][:300])
                continue
            if warc.get("WARC-Record-ID") != ref.record_id:
                found.missing.append(f"{where}: another record is there")
            elif not ref.revisit and payload_digest(payload) != ref.digest:
                found.altered.append(f"{where}: its payload's digest is not {ref.digest}")
        try:
            found.unreferenced = sum(1 for name, at, *_ in self.files.records() if (name, at) not in referenced)
        except Exception as exc:  # a file damaged past a record boundary: say where, count no further
            found.missing.append(
                f"{self.files.location}: a file cannot be read to its end: {exc}".splitlines()[0][:300]
            )
        return found

    def _one(self, condition: ColumnElement[bool], *, first: bool = False) -> StoredCapture | None:
        order = CAPTURE.c.id if first else CAPTURE.c.id.desc()
        with self.engine.connect() as connection:
            row = connection.execute(select(CAPTURE).where(condition).order_by(order).limit(1)).first()
        if row is None:
            return None
        return StoredCapture(row.id, row.url, row.fetched_at, row.status, self._ref(row), row.version_id, row.event_id)

    @staticmethod
    def _ref(row: Any) -> CaptureRef:
        return CaptureRef(row.file, row.record_offset, row.record_length, row.digest, row.record_id, row.revisit)
