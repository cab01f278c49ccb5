"""Alembic environment: runs migrations against the URL in the config or the settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import selpo.models  # noqa: F401  (registers every table on Base.metadata)
from selpo.config import Settings
from selpo.db import Base, create_db_engine

config = context.config
target_metadata = Base.metadata


def _partitions(connection: Connection) -> frozenset[str]:
    """The partitions of partitioned tables (``selpo.partitions``): no model of their own."""
    if connection.dialect.name != "postgresql":
        return frozenset()
    rows = connection.exec_driver_sql("SELECT relname FROM pg_class WHERE relispartition")
    return frozenset(str(name) for name in rows.scalars())


def _run(connection: Connection) -> None:
    partitions = _partitions(connection)

    def include_name(name: str | None, type_: str, _parent: object) -> bool:
        return not (type_ in ("table", "index") and name in partitions)

    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a live connection (handed over by the caller, or made from the URL)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or Settings().database_url
    engine = create_db_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def run_migrations_offline() -> None:
    """Emit SQL without a database."""
    url = config.get_main_option("sqlalchemy.url") or Settings().database_url
    context.configure(url=url, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
