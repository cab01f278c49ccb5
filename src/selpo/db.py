"""Database plumbing: the declarative base, the engine factory and the unit of work."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import psycopg
from sqlalchemy import (
    Boolean,
    Connection,
    DateTime,
    Engine,
    MetaData,
    TypeDecorator,
    case,
    create_engine,
    event,
    false,
    literal,
    or_,
)
from sqlalchemy.engine import Dialect, ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    sessionmaker,
    with_loader_criteria,
)
from sqlalchemy.sql.elements import ColumnElement

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every ORM table; constraints get predictable names."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: selpo stores timezone-aware UTC only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# How long a SQLite connection waits for the write lock before giving up. Write transactions
# begin with BEGIN IMMEDIATE, so writers queue here instead of failing later: 30 s is far
# beyond any transaction selpo makes (a 1,000-parcel batch or a worker chunk holds the lock
# for well under a second), so a writer fails only if the database is stuck, and matches
# the time an HTTP client commonly waits for an answer.
SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_POOL_SIZE = 10
PG_MAX_OVERFLOW = 30
# Execution option naming how a SQLite transaction begins: "immediate" (the default: take
# the write lock at once and queue for it) or "deferred" (read-only sessions: a WAL reader
# never waits and never blocks a writer).
BEGIN_MODE = "selpo_begin"
# ``Session.info`` key of a read-only session: it refuses to write (see below).
READ_ONLY = "selpo_read_only"


class WriteInReadOnlySession(RuntimeError):
    """Code tried to write through a read-only session (a deferred SQLite transaction)."""


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy issue BEGIN itself (below), so SAVEPOINTs and rollbacks behave as
    # documented instead of pysqlite's implicit transactions.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


class SqliteWriters:
    """This process's writers to one SQLite database, let in one at a time.

    SQLite's own queue for the write lock is a busy handler that polls with growing sleeps (up
    to 100 ms), so under contention the lock often sits free while waiters sleep, and a late
    arrival can overtake a writer that waited long. In-process writers therefore first queue
    here, on a lock handed over the moment a transaction ends; SQLite's busy timeout still
    orders writers of other processes (a second server, the CLI, a separate worker).
    """

    HELD = "selpo_sqlite_writer"  # key in the pooled connection's info: it holds the gate
    _by_file: ClassVar[dict[str, SqliteWriters]] = {}
    _by_file_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._gate = threading.Lock()

    @classmethod
    def of(cls, database: str) -> SqliteWriters:
        """The one queue of a database file in this process (every engine on it shares it:
        the server's, and the worker's when it runs in the same process)."""
        key = str(Path(database).resolve())
        with cls._by_file_lock:
            writers = cls._by_file.get(key)
            if writers is None:
                writers = cls._by_file[key] = cls()
            return writers

    def begin(self, connection: Connection) -> None:
        # A deferred transaction that reads and then writes asks for the write lock too late:
        # if another writer committed since it began reading, SQLite answers "database is
        # locked" at once, without waiting. So every transaction takes the lock at BEGIN,
        # except the read-only ones, which never ask for it.
        if connection.get_execution_options().get(BEGIN_MODE) == "deferred":
            connection.exec_driver_sql("BEGIN")
            return
        if not self._gate.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise TimeoutError("waited too long for SQLite's write lock")
        connection.info[self.HELD] = True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self.end(connection)
            raise

    def end(self, connection: Connection) -> None:
        if connection.info.pop(self.HELD, False):
            self._gate.release()

    def _release(self, record: Any) -> None:
        # A connection returned or dropped without its transaction ending normally.
        if record is not None and record.info.pop(self.HELD, False):
            self._gate.release()

    def _on_reset(self, _dbapi_connection: Any, record: Any, _state: Any) -> None:
        self._release(record)

    def _on_invalidate(self, _dbapi_connection: Any, record: Any, _exception: Any) -> None:
        self._release(record)

    def _on_close(self, _dbapi_connection: Any, record: Any) -> None:
        self._release(record)

    def listen(self, engine: Engine) -> None:
        event.listen(engine, "begin", self.begin)
        event.listen(engine, "commit", self.end)
        event.listen(engine, "rollback", self.end)
        event.listen(engine.pool, "reset", self._on_reset)
        event.listen(engine.pool, "invalidate", self._on_invalidate)
        event.listen(engine.pool, "soft_invalidate", self._on_invalidate)
        event.listen(engine.pool, "close", self._on_close)


@event.listens_for(Session, "before_flush")
def _refuse_flush_when_read_only(session: Session, _context: Any, _instances: Any) -> None:
    if not session.info.get(READ_ONLY):
        return
    if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
        raise WriteInReadOnlySession("a read-only session (GET request) tried to write")


@event.listens_for(Session, "do_orm_execute")
def _refuse_dml_when_read_only(state: ORMExecuteState) -> None:
    if state.session.info.get(READ_ONLY) and (
        state.is_insert or state.is_update or state.is_delete
    ):
        raise WriteInReadOnlySession("a read-only session (GET request) tried to write")


# ---------------------------------------------------------------------------- the sandbox
#
# The rows a marketplace's test key (``sk_test_...``) makes live in the same tables as the real
# ones, marked ``sandbox``, and are kept apart by the session rather than by every query: a
# session sees the live rows only, unless it was opened for a test key (``enter_sandbox``: it
# then sees the sandbox's rows only) or for a job that tends both (``see_every_partition``).
# Every ORM statement of the session gets the criterion, in joins and subqueries too, so no
# counter, manifest, report or job can meet a sandbox parcel by forgetting a filter.
SANDBOX = "selpo_sandbox"  # ``Session.info`` key: True (sandbox rows), "all", or absent (live)
_EVERY_PARTITION = "all"


class Partitioned:
    """A table whose rows are live or the sandbox's (mixin: adds the ``sandbox`` column)."""

    sandbox: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


def enter_sandbox(session: Session) -> None:
    """From now on the session reads and writes the sandbox's rows only."""
    session.info[SANDBOX] = True


def see_every_partition(session: Session) -> None:
    """From now on the session reads live and sandbox rows alike (jobs that tend both, such
    as the erasure of personal data)."""
    session.info[SANDBOX] = _EVERY_PARTITION


def in_sandbox(session: Session) -> bool:
    """Whether the session works on the sandbox's rows (what it writes is sandbox data)."""
    return session.info.get(SANDBOX) is True


_LIVE_ROWS = with_loader_criteria(
    Partitioned, lambda cls: cls.sandbox.is_(False), include_aliases=True
)
_SANDBOX_ROWS = with_loader_criteria(
    Partitioned, lambda cls: cls.sandbox.is_(True), include_aliases=True
)


def _partitioned(state: ORMExecuteState) -> bool:
    return any(issubclass(m.class_, Partitioned) for m in state.all_mappers)


@event.listens_for(Session, "do_orm_execute")
def _keep_partitions_apart(state: ORMExecuteState) -> None:
    mode = state.session.info.get(SANDBOX)
    if state.is_insert:
        # What a sandbox session inserts is the sandbox's, whatever the rows say.
        if mode is True and _partitioned(state):
            if isinstance(state.parameters, dict):
                state.parameters = {**state.parameters, "sandbox": True}
            elif isinstance(state.parameters, list) and state.parameters:
                state.parameters = [{**row, "sandbox": True} for row in state.parameters]
            else:
                state.statement = state.statement.values(sandbox=True)  # type: ignore[attr-defined]
        return
    # A refresh of a row the session already holds is not filtered: it was let in before.
    if not (state.is_select or state.is_update or state.is_delete) or state.is_column_load:
        return
    if mode == _EVERY_PARTITION:
        return
    state.statement = state.statement.options(_SANDBOX_ROWS if mode is True else _LIVE_ROWS)


@event.listens_for(Session, "before_flush")
def _mark_sandbox_rows(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(SANDBOX) is True:
        for instance in session.new:
            if isinstance(instance, Partitioned):
                instance.sandbox = True


def normalise_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs, the driver selpo ships with."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


# ---------------------------------------------------------------------------- failover
#
# On PostgreSQL with a standby (pg_auto_failover, docs/operations.md) the service connects with a
# multi-host URL (``?host=H1:P1&host=H2:P2&target_session_attrs=read-write``): libpq tries the
# hosts in turn and keeps the one that takes writes. While the primary is lost and the standby
# promoted, a request may meet a connection the server dropped, a server shutting down, or a
# node that was demoted and now only reads. Those errors mean "the database is switching": the
# connection is thrown away with every other one of the pool (a pooled connection to a
# demoted node would otherwise keep failing), safe requests are tried again and the others
# answer 503 with Retry-After (kit.database_switch), never 500.
SWITCH_SQLSTATES = frozenset(
    {
        "25006",  # read_only_sql_transaction: the node we hold was demoted to a standby
        "57P01",  # admin_shutdown: the server is being stopped (demotion, fast shutdown)
        "57P02",  # crash_shutdown: another backend crashed, the server restarts
        "57P03",  # cannot_connect_now: starting up, or a standby not yet promoted
        "53300",  # too_many_connections: every client reconnecting at once
    }
)
# Seconds libpq waits for each host of the URL to answer a connection attempt (unless the URL
# says otherwise): a data centre that is gone must not hold a request for the OS's minutes.
PG_CONNECT_TIMEOUT_S = 5


def _sqlstate(exc: BaseException) -> str | None:
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    value = getattr(orig, "sqlstate", None)
    return value if isinstance(value, str) else None


def database_switching(exc: BaseException) -> bool:
    """Whether an error means PostgreSQL is away or switching to its standby (the request did
    not reach a working primary): a lost or refused connection (SQLSTATE class 08 or none), a
    server shutting down, a demoted node refusing a write. SQLite's errors never are."""
    if not isinstance(exc, DBAPIError) or exc.orig is None:
        return False
    if type(exc.orig).__module__.split(".")[0] != "psycopg":
        return False
    if exc.connection_invalidated:
        return True
    sqlstate = _sqlstate(exc)
    if sqlstate is None:
        # psycopg's own errors about the connection (cannot connect, the server closed it).
        return isinstance(exc.orig, psycopg.OperationalError)
    return sqlstate.startswith("08") or sqlstate in SWITCH_SQLSTATES


def _drop_connections_on_switch(context: ExceptionContext) -> None:
    # Treated as a disconnect: this connection is discarded and the pool's others are replaced
    # on their next checkout, so no request is handed a connection to the demoted node.
    if _sqlstate(context.original_exception) in SWITCH_SQLSTATES:
        context.is_disconnect = True


def create_db_engine(url: str, *, echo: bool = False, read_only: bool = False) -> Engine:
    """Build an engine: SQLite gets its folder, foreign keys and WAL; PostgreSQL a pool that
    survives a switch to the standby. ``read_only``: the engine of lag-tolerant reads
    (``SELPO_READ_DATABASE_URL``); on PostgreSQL its transactions are read-only in the
    server too."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _configure_sqlite)
        writers = SqliteWriters.of(database) if database and database != ":memory:" else None
        (writers or SqliteWriters()).listen(engine)
        return engine
    # Up to 40 connections: as many as the thread pool that runs the requests' database work
    # (AnyIO's default of 40 threads), so a thread never waits for a connection that only
    # another waiting thread could give back (the 30 s stall of issue 12). Ten stay open.
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    if read_only:
        connect_args["options"] = "-c default_transaction_read_only=on"
    engine = create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        pool_size=PG_POOL_SIZE,
        max_overflow=PG_MAX_OVERFLOW,
        connect_args=connect_args,
    )
    event.listen(engine, "handle_error", _drop_connections_on_switch)
    return engine


def unlocked(locked_until: Any, now: datetime) -> ColumnElement[bool]:
    """SQL: a lock column (a moment until which something is locked) not in force at ``now``."""
    return or_(locked_until.is_(None), locked_until <= now)


def failure_counted(
    failures: Any, locked_until: Any, *, max_failures: int, lock_until: datetime
) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """SQL: the new values of an attempt counter and its lock after one more failure, for one
    atomic ``UPDATE ... WHERE unlocked(...) RETURNING``: the count starts again at 0 and the
    lock is set to ``lock_until`` when it reaches ``max_failures``."""
    following = failures + 1
    reaches = following >= max_failures
    return (
        case((reaches, 0), else_=following),
        case((reaches, literal(lock_until, UTCDateTime())), else_=locked_until),
    )


def read_connection(engine: Engine) -> Connection:
    """A connection for reading only: on SQLite its transactions begin deferred."""
    return engine.connect().execution_options(**{BEGIN_MODE: "deferred"})


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def open_session(factory: sessionmaker[Session], *, read_only: bool = False) -> Session:
    """A new session (no connection yet): ``read_only`` ones begin deferred on SQLite and
    refuse to write on every backend."""
    if not read_only:
        return factory()
    session = factory(execution_options={BEGIN_MODE: "deferred"})
    session.info[READ_ONLY] = True
    return session


def end_session(session: Session, *, commit: bool) -> None:
    """Commit (rolling back if the commit fails) or roll back, then close."""
    try:
        if commit:
            try:
                session.commit()
            except BaseException:
                session.rollback()
                raise
        else:
            session.rollback()
    finally:
        session.close()


@contextmanager
def session_scope(factory: sessionmaker[Session], *, read_only: bool = False) -> Iterator[Session]:
    """One unit of work: commit when the block succeeds, roll back when it raises."""
    session = open_session(factory, read_only=read_only)
    try:
        yield session
    except BaseException:
        end_session(session, commit=False)
        raise
    end_session(session, commit=True)
