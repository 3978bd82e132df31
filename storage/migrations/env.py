"""Alembic environment: the engine comes from procwatch (storage.db), never from an ini file."""

from alembic import context
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    if connection.dialect.name == "postgresql":  # a migration may rewrite a large table: no statement limit
        connection.exec_driver_sql("SET LOCAL statement_timeout = 0")  # this transaction only
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
