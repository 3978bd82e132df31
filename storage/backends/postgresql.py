"""PostgreSQL: several writers, arrays instead of long IN lists, COPY for bulk rows."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    Select,
    Table,
    any_,
    bindparam,
    column,
    create_engine,
    func,
    select,
    table,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement

from storage.backends import SearchSource, bound_rows
from storage.search_terms import Query, density, tsquery

SCHEMA_LOCK_KEY = 0x70726F63  # "proc": the advisory lock that serialises schema creation

#: libpq's and the server's time limits, so that a server, proxy or network that stops answering is an
#: error after a bound rather than a connection waiting for ever; any of them given in the URL wins.
POSTGRES_TIMEOUTS: dict[str, int] = {
    "connect_timeout": 10,  # seconds to establish a connection
    "keepalives": 1,  # TCP keepalives find a peer that vanished without closing (host down, NAT dropped)
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 60_000,  # ms a sent request may stay unacknowledged
}
#: server-side limits (milliseconds); schema migrations lift the statement limit for themselves
POSTGRES_SESSION = {"statement_timeout": 120_000, "idle_in_transaction_session_timeout": 300_000}


def _postgres_timeouts(url: str) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    given = set(make_url(url).query)
    args: dict[str, Any] = {key: value for key, value in POSTGRES_TIMEOUTS.items() if key not in given}
    if "options" not in given:
        args["options"] = " ".join(f"-c {key}={value}" for key, value in POSTGRES_SESSION.items())
    return args


class PostgreSQL:
    name = "postgresql"
    writer_threads = 4
    optimize: str | None = None  # autovacuum keeps the statistics

    def __init__(self) -> None:
        self._statistics: dict[str, tuple[float, tuple[float, dict[str, float], float]]] = {}

    def create_engine(self, url: str, *, echo: bool, create: bool) -> Engine:
        """Connections checked before use, and bounded in time (POSTGRES_TIMEOUTS, POSTGRES_SESSION)."""
        return create_engine(url, echo=echo, pool_pre_ping=True, connect_args=_postgres_timeouts(url))

    def check_writable(self, engine: Engine) -> None:
        """Permissions show at the first write; the server names them then."""

    def check_exists(self, engine: Engine) -> None:
        """A database without procwatch's tables is found out by its schema check, which creates nothing."""

    def upsert(self, table: Table) -> Insert:
        return postgresql.insert(table)

    def where_in(self, connection: Connection, query: Select[Any], key: Any, values: Iterable[Any]) -> Iterator[Any]:
        """One statement with an array: thousands of placeholders cost more to parse than the query takes."""
        wanted = list(dict.fromkeys(values))
        if wanted:
            array = bindparam("wanted", wanted, type_=postgresql.ARRAY(key.type))
            yield from connection.execute(query.where(key == any_(array))).all()

    def insert_rows(self, connection: Connection, table: Table, rows: list[dict[str, Any]], *, ids: bool) -> list[int]:
        """COPY (a multi-row INSERT of thousands of values spent longer building and parsing its statement
        than storing the rows), with ids drawn from the table's sequence first."""
        if not rows:
            return []
        new_ids: list[int] = []
        if ids:
            draw = select(func.nextval(func.pg_get_serial_sequence(table.name, "id")))
            new_ids = list(connection.execute(draw.select_from(func.generate_series(1, len(rows)))).scalars())
            rows = [{"id": new_id, **row} for new_id, row in zip(new_ids, rows, strict=True)]
        columns = list(rows[0])
        driver = connection.connection.driver_connection
        assert driver is not None
        cursor = driver.cursor()  # psycopg's, in this transaction
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for values in bound_rows(connection, table, columns, rows):
                copy.write_row(values)
        return new_ids

    @contextmanager
    def schema_lock(self, engine: Engine) -> Iterator[None]:
        """An advisory lock."""
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK_KEY})
                connection.commit()

    def describe(self, engine: Engine) -> str:
        return engine.url.set(drivername=engine.url.get_backend_name()).render_as_string(hide_password=True)

    def search_insert(self, connection: Connection, rows: list[tuple[int, str]]) -> None:
        if rows:
            connection.exec_driver_sql(
                "INSERT INTO version_search (version_id, document) VALUES (%s, to_tsvector('simple', %s))", rows
            )

    def search_source(self, connection: Connection, query: Query) -> SearchSource:
        """A tsvector of the tokens under a GIN index; the 'simple' configuration keeps every token.

        GIN cannot hand out matches newest first: the newest 20 come either from walking the table
        backwards by id, testing each row (fast when the query is common), or from the index's bitmap
        of every match, sorted (fast when it is rare: a rare token lets GIN skip through the others).
        The planner, guessing from sampled statistics, chose the walk for a term in one article of a
        million (5.8 s) and the bitmap for a common phrase (0.8 s). So the choice is made here, from
        the same statistics read as bounds (storage.search_terms.density): at most BITMAP_ROWS matches,
        their ids are read through the bitmap and the query reads just those rows; more, and it walks."""
        index = table("version_search", column("version_id", Integer), column("document"))
        condition: ColumnElement[bool] = index.c.document.op("@@")(func.to_tsquery("simple", tsquery(query)))
        rows, frequencies, rare = self._token_statistics(connection)
        # for this search's transaction only: a query of a few milliseconds gains nothing from JIT
        # compiling or parallel workers, which cost 35 ms and 50 ms to start
        connection.exec_driver_sql("SET LOCAL jit = off")
        connection.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        if frequencies and rows * density(query, frequencies, rare) > BITMAP_ROWS:
            # the walk: the planner, sure a phrase of common tokens is rare, would scan and sort it all
            connection.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            return index, index.c.version_id, condition
        connection.exec_driver_sql("SET LOCAL enable_indexscan = off")
        found = list(connection.execute(select(index.c.version_id).where(condition)).scalars())
        connection.exec_driver_sql("RESET enable_indexscan")
        matching = index.c.version_id == any_(bindparam("matching", found, type_=postgresql.ARRAY(Integer)))
        return index, index.c.version_id, matching

    def _token_statistics(self, connection: Connection) -> tuple[float, dict[str, float], float]:
        """Rows of the index, the share of rows holding each of its most common tokens, and the share
        below which a token is not listed (PostgreSQL's own ANALYZE statistics, read once a minute)."""
        key = str(connection.engine.url)
        cached = self._statistics.get(key)
        if cached is not None and time.monotonic() - cached[0] < STATISTICS_FOR:
            return cached[1]
        row = connection.exec_driver_sql(
            "SELECT c.reltuples, s.most_common_elems::text::text[], s.most_common_elem_freqs"
            " FROM pg_class c LEFT JOIN pg_stats s ON s.tablename = c.relname AND s.attname = 'document'"
            " WHERE c.relname = 'version_search'"
        ).first()
        found: tuple[float, dict[str, float], float] = (0.0, {}, 1.0)
        if row is not None and row[1] and row[2]:
            tokens, shares = row[1], row[2][: len(row[1])]  # (then their minimum and maximum)
            found = (max(float(row[0]), 0.0), dict(zip(tokens, shares, strict=True)), float(min(shares)))
        self._statistics[key] = (time.monotonic(), found)
        return found


BITMAP_ROWS = 20_000  # matches the bitmap reads and sorts faster than the walk by id finds a page's
STATISTICS_FOR = 60.0  # seconds the token statistics are reused


BACKEND = PostgreSQL()
