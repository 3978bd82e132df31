"""PostgreSQL: several writers, arrays instead of long IN lists, COPY for bulk rows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Select, Table, any_, bindparam, func, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.dml import Insert

from storage.backends import bound_rows

SCHEMA_LOCK_KEY = 0x70726F63  # "proc": the advisory lock that serialises schema creation


class PostgreSQL:
    name = "postgresql"
    writer_threads = 4

    def upsert(self, table: Table) -> Insert:
        return postgresql.insert(table)

    def where_in(self, connection: Connection, query: Select[Any], key: Any, values: Iterable[Any]) -> Iterator[Any]:
        """One statement with an array: thousands of placeholders cost more to parse than the query takes."""
        wanted = list(dict.fromkeys(values))
        if wanted:
            array = bindparam("wanted", wanted, type_=postgresql.ARRAY(key.type))
            yield from connection.execute(query.where(key == any_(array)))

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


BACKEND = PostgreSQL()
