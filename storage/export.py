"""The archive as a dataset another tool can load, and its captures as one WARC file.

``export_dataset`` writes one file per table (articles, versions, events, campaigns, mentions,
captures) as JSON Lines, CSV or Parquet, and a Frictionless ``datapackage.json`` describing every
column, so ``pandas.read_csv("versions.csv")`` or ``frictionless.Package("datapackage.json")`` loads
it in one line. Rows stream from the database in chunks (memory stays bounded however large the
archive); a selection (sources, first seen since/until) keeps only those articles and what hangs off
them. ``export_warc`` concatenates the selected captures' records (each one gzip member, so the
result is itself a valid ``.warc.gz``), a revisit's original record included once.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Boolean, ColumnElement, DateTime, Engine, Float, Integer, Select, Table, func, select, true

from storage.captures import Evidence
from storage.errors import ExportError
from storage.tables import ARTICLE, CAMPAIGN, CAPTURE, EVENT, MENTION, VERSION

CHUNK = 1000  # rows read from the database at a time


class Format(StrEnum):
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


@dataclass(frozen=True)
class Selection:
    """Which articles (and everything of theirs) an export holds; empty: all."""

    sources: Sequence[str] = ()
    since: datetime | None = None
    until: datetime | None = None

    def articles(self) -> Select[Any]:
        query = select(ARTICLE.c.id)
        if self.sources:
            query = query.where(ARTICLE.c.source_id.in_(list(self.sources)))
        if self.since is not None:
            query = query.where(ARTICLE.c.first_seen >= self.since)
        if self.until is not None:
            query = query.where(ARTICLE.c.first_seen <= self.until)
        return query


# (file name, table, its article column, what it is)
RESOURCES: tuple[tuple[str, Table, str | None, str], ...] = (
    ("articles", ARTICLE, "id", "one row per article URL; title, hash and dates mirror its current version"),
    ("versions", VERSION, "article_id", "every stored version of every article: text, dates, content hash"),
    ("events", EVENT, "article_id", "what happened to an article: published, edited, removed, restored"),
    ("campaigns", CAMPAIGN, None, "campaigns and formulations, with their first observed mention"),
    ("mentions", MENTION, "article_id", "a campaign named in one version of an article"),
    (
        "captures",
        CAPTURE,
        None,
        "the WARC record (file, offset, digest) of each response that made a version or removal",
    ),
)
Progress = Callable[[str, int], None]  # (resource, rows written so far in it)


def export_dataset(
    engine: Engine, out: Path, fmt: Format, selection: Selection = Selection(), progress: Progress | None = None
) -> dict[str, int]:
    """Write the dataset under ``out`` (made if missing); the rows written per resource."""
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    resources = []
    with engine.connect() as connection:
        for name, table, article_column, description in RESOURCES:
            query = select(*table.c).where(_selected(table, article_column, selection))
            rows = connection.execution_options(stream_results=True, yield_per=CHUNK).execute(
                query.order_by(*table.primary_key.columns)
            )
            path = out / f"{name}.{fmt}"
            written[name] = _write(path, fmt, table, _plain(rows), name, progress)
            resources.append(_resource(name, path.name, fmt, table, description))
    package = {
        "profile": "tabular-data-package",
        "name": "procwatch-archive",
        "title": "procwatch archive export",
        "description": "Articles of Chinese legal-political portals as procwatch stored them, every version kept",
        "resources": resources,
    }
    (out / "datapackage.json").write_text(json.dumps(package, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return written


def count_rows(engine: Engine, selection: Selection = Selection()) -> dict[str, int]:
    """Rows each resource of an export of ``selection`` holds (for a progress bar, and round-trip checks)."""
    with engine.connect() as connection:
        out = {}
        for name, table, article_column, _ in RESOURCES:
            query = select(func.count()).select_from(table).where(_selected(table, article_column, selection))
            out[name] = int(connection.execute(query).scalar_one())
        return out


def export_warc(evidence: Evidence, out: IO[bytes], selection: Selection = Selection()) -> int:
    """The selected captures' records, in the order they were stored; the records written."""
    query = select(CAPTURE.c.id).where(_selected(CAPTURE, None, selection)).order_by(CAPTURE.c.id)
    with evidence.engine.connect() as connection:
        ids = list(connection.execute(query).scalars())
    written, seen = 0, set()
    for capture_id in ids:
        capture = evidence.get(capture_id)
        if capture is None:
            continue
        refs = [capture.ref]
        if capture.ref.revisit:  # the payload it refers to travels with it
            first = evidence.original_of(capture)
            if first is not None:
                refs.insert(0, first.ref)
        for ref in refs:
            if (ref.file, ref.offset) in seen:
                continue
            seen.add((ref.file, ref.offset))
            out.write(evidence.files.record_bytes(ref))
            written += 1
    return written


def export_wacz(evidence: Evidence, out: Path, selection: Selection = Selection()) -> int:
    """The selected captures as a WACZ (the WARC, its CDXJ index, a page list, a datapackage), which
    ReplayWeb.page and pywb open; the records it holds."""
    import tempfile

    try:
        from wacz.main import main as wacz
    except ImportError:
        raise ExportError("WACZ needs the wacz package (pip install 'procwatch[export]')") from None
    with tempfile.TemporaryDirectory() as name:
        warc, pages = Path(name) / "procwatch.warc.gz", Path(name) / "pages.jsonl"
        with warc.open("wb") as handle:
            records = export_warc(evidence, handle, selection)
        with pages.open("w", encoding="utf-8") as listing:  # the pages a replay tool lists: each version shown
            listing.write(json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "procwatch captures"}) + "\n")
            for page in _pages(evidence, selection):
                listing.write(json.dumps(page, ensure_ascii=False) + "\n")
        arguments = ["create", "-o", str(out), "-p", str(pages), "--title", "procwatch captures", str(warc)]
        if wacz(arguments) not in (0, None):
            raise ExportError(f"the wacz package could not write {out}")
    return records


def _pages(evidence: Evidence, selection: Selection) -> Iterator[dict[str, str]]:
    query = (
        select(CAPTURE.c.url, CAPTURE.c.fetched_at, VERSION.c.title)
        .join(VERSION, VERSION.c.id == CAPTURE.c.version_id)
        .where(_selected(CAPTURE, None, selection))
        .order_by(CAPTURE.c.id)
    )
    with evidence.engine.connect() as connection:
        for url, fetched_at, title in connection.execute(query):
            yield {"url": url, "ts": fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "title": title}


def _selected(table: Table, article_column: str | None, selection: Selection) -> ColumnElement[bool]:
    """The rows of ``table`` that belong to the selection's articles (captures by their version or
    removal, campaigns by a mention, when the selection narrows anything)."""
    chosen = selection.articles()
    if article_column is not None:
        return table.c[article_column].in_(chosen)
    if table is CAPTURE:
        versions = select(VERSION.c.id).where(VERSION.c.article_id.in_(chosen))
        events = select(EVENT.c.id).where(EVENT.c.article_id.in_(chosen))
        return CAPTURE.c.version_id.in_(versions) | CAPTURE.c.event_id.in_(events)
    if table is CAMPAIGN and (selection.sources or selection.since or selection.until):
        return CAMPAIGN.c.id.in_(select(MENTION.c.campaign_id).where(MENTION.c.article_id.in_(chosen)))
    return true()


def _plain(rows: Iterator[Any]) -> Iterator[dict[str, Any]]:
    for row in rows:
        yield {
            key: (value.isoformat() if isinstance(value, datetime) else value) for key, value in row._mapping.items()
        }


def _write(
    path: Path, fmt: Format, table: Table, rows: Iterator[dict[str, Any]], name: str, progress: Progress | None
) -> int:
    count = 0
    columns = list(table.c.keys())
    if fmt is Format.parquet:
        return _write_parquet(path, table, rows, name, progress)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns) if fmt is Format.csv else None
        if writer is not None:
            writer.writeheader()
        for row in rows:
            if writer is not None:
                writer.writerow(row)
            else:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
            if progress is not None and count % CHUNK == 0:
                progress(name, count)
    if progress is not None:
        progress(name, count)
    return count


def _write_parquet(
    path: Path, table: Table, rows: Iterator[dict[str, Any]], name: str, progress: Progress | None
) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ExportError("Parquet needs pyarrow (pip install 'procwatch[export]')") from None
    kinds = {"integer": pa.int64(), "boolean": pa.bool_(), "number": pa.float64()}
    schema = pa.schema([(c.name, kinds.get(_field_type(c), pa.string())) for c in table.c])
    count = 0
    chunk: list[dict[str, Any]] = []
    with pq.ParquetWriter(str(path), schema) as writer:
        for row in rows:
            chunk.append(row)
            count += 1
            if len(chunk) >= CHUNK:
                writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
                chunk.clear()
                if progress is not None:
                    progress(name, count)
        if chunk:
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
    if progress is not None:
        progress(name, count)
    return count


def _field_type(column: Any) -> str:
    kind = column.type
    if isinstance(kind, Boolean):
        return "boolean"
    if isinstance(kind, Integer):
        return "integer"
    if isinstance(kind, Float):
        return "number"
    if isinstance(kind, DateTime) or "DateTime" in type(kind).__name__:
        return "datetime"
    return "string"


def _resource(name: str, path: str, fmt: Format, table: Table, description: str) -> dict[str, Any]:
    media = {Format.jsonl: "application/jsonl", Format.csv: "text/csv", Format.parquet: "application/parquet"}
    fields: list[dict[str, Any]] = []
    for column in table.c:
        kind = _field_type(column)
        field = {"name": column.name, "type": kind}
        if (table.name, column.name) in COLUMN_NOTES:
            field["description"] = COLUMN_NOTES[table.name, column.name]
        if kind == "datetime":  # ISO 8601 with its offset (UTC), as Python's isoformat writes it
            field["format"] = "any"
        fields.append(field)
    schema: dict[str, Any] = {"fields": fields, "primaryKey": [c.name for c in table.primary_key.columns]}
    foreign = [
        {
            "fields": key.parent.name,
            "reference": {
                "resource": _RESOURCE_OF.get(key.column.table.name, key.column.table.name),
                "fields": key.column.name,
            },
        }
        for key in table.foreign_keys
        if key.column.table.name in _RESOURCE_OF
    ]
    if foreign:
        schema["foreignKeys"] = foreign
    return {
        "name": name,
        "path": path,
        "profile": "tabular-data-resource",
        "format": str(fmt),
        "mediatype": media[fmt],
        "encoding": "utf-8",
        "description": description,
        "schema": schema,
    }


_RESOURCE_OF = {table.name: name for name, table, _, _ in RESOURCES}
# What a column means where its name does not say it all (times are UTC, ISO 8601)
COLUMN_NOTES = {
    ("article", "first_seen"): "when procwatch first found the article",
    ("article", "status"): "live or removed",
    ("article", "current_version"): "the version live now (lower than version_count after an edit was reverted)",
    ("article", "original_id"): "the article this one republishes, when it is a copy",
    ("article_version", "version"): "1 for the first version of an article, then one more per edit",
    ("article_version", "content_hash"): "SHA-256 of the normalised title and body: equal hashes, equal texts",
    ("article_version", "body_text"): "the article's text as published (Traditional stays Traditional)",
    ("article_version", "body_html"): "the body's HTML, sanitised",
    ("article_version", "published_at"): "the publication date the page gives (Beijing time read, stored in UTC)",
    ("article_version", "meta_published_at"): "the page's meta date, where it displays another",
    ("article_version", "fetched_at"): "when this version was fetched",
    ("article_version", "change_chars"): "characters inserted plus deleted against the previous version",
    ("event", "kind"): "published, edited, removed, restored, republished",
    ("event", "reported"): "false for what was there before procwatch first looked (a first crawl, a backfill)",
    ("campaign", "first_seen_at"): "when procwatch first observed a mention (not the publication date)",
    ("campaign", "baseline"): "first observed while the archive was being filled: known, not new",
    ("campaign_mention", "context"): "the words around the mention",
    ("capture", "file"): "the .warc.gz file, relative to the capture directory",
    ("capture", "record_offset"): "where the response (or revisit) record begins in the file",
    ("capture", "digest"): "the WARC payload digest of the body as served (sha1, base32)",
    ("capture", "revisit"): "a revisit record: the same payload as an earlier capture of the URL",
}
