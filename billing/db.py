"""Engine, sessions and the unit of work, for SQLite (embedded default) and PostgreSQL.

SQLite detail that matters for money: a deferred transaction that reads and then writes can fail
with SQLITE_BUSY when another writer got in first, and the busy timeout does not help.  So write
transactions begin IMMEDIATE (take the write lock up front) and read-only sessions stay deferred;
``writer(engine)`` selects the former through an execution option the ``begin`` hook reads.

Every failure of the database surfaces as a SQLAlchemy error (a failed COMMIT in our hook, a lock
file that cannot be opened), so callers catch one family.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import cache
from itertools import chain
from datetime import UTC, datetime

from sqlalchemy import BigInteger, ColumnElement, Table, any_, column, create_engine, event, func, literal, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from billing.errors import DatabaseUnavailable, DatabaseUrlInvalid
from billing.writer_queue import WriterQueue

URL_VARIABLE = "DATABASE_URL"
SQLITE_PARAMETERS_PER_INSERT = 256  # bulk_insert's batch: far below SQLite's limit (32,766) and as fast as larger ones
WRITE_WAIT_SECONDS = 30.0  # how long a writer waits for the write lock when its path sets no bound


def normalise_url(url_text: str) -> str:
    """Validate a database URL and pick our drivers (psycopg 3 for PostgreSQL)."""
    try:
        url = make_url(url_text)
    except ArgumentError as exc:
        raise DatabaseUrlInvalid(f"cannot parse '{url_text}' as a database URL ({exc})", field=URL_VARIABLE) from None
    if url.get_backend_name() == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    elif url.get_backend_name() != "sqlite":
        raise DatabaseUrlInvalid(
            f"unsupported database '{url.get_backend_name()}' (use sqlite:/// or postgresql://)", field=URL_VARIABLE
        )
    return url.render_as_string(hide_password=False)


def make_engine(url_text: str, *, pool_size: int = 10) -> Engine:
    url = make_url(normalise_url(url_text))
    if url.get_backend_name() == "postgresql":
        engine = create_engine(url, pool_size=pool_size, max_overflow=2 * pool_size, pool_pre_ping=True)
        _configure_postgresql(engine)
        return engine
    in_memory = url.database in (None, "", ":memory:")
    # A file's pool as large as PostgreSQL's: a web request holds its reading connection and a
    # writing one at once (portal.wiring.reading_connection).
    pool = {"poolclass": StaticPool} if in_memory else {"pool_size": pool_size, "max_overflow": 2 * pool_size}
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": WRITE_WAIT_SECONDS}, **pool)
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(WRITE_WAIT_SECONDS * 1000)}")
        cursor.close()

    queue = WriterQueue(engine.url.database) if engine.url.database not in (None, "", ":memory:") else None

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        mode = options.get("sqlite_begin", "DEFERRED")
        if mode == "IMMEDIATE":
            deadline = time.monotonic() + options.get("write_wait_seconds", WRITE_WAIT_SECONDS)
            _join_queue(connection, queue, deadline)
        statement = f"BEGIN {mode}"
        try:  # straight to the driver: every read begins here, and SQLAlchemy's statement path costs more than BEGIN
            connection.connection.dbapi_connection.execute(statement)
        except sqlite3.Error as error:  # raised as SQLAlchemy raises every other database error (a busy lock)
            _leave_queue(connection)
            raise OperationalError(statement, None, error) from error
        except BaseException:
            _leave_queue(connection)
            raise

    @event.listens_for(engine, "commit")
    def _on_commit(connection: Connection) -> None:
        _leave_queue(connection, "COMMIT")

    @event.listens_for(engine, "rollback")
    def _on_rollback(connection: Connection) -> None:
        _leave_queue(connection, "ROLLBACK")


def _join_queue(connection: Connection, queue: WriterQueue | None, deadline: float) -> None:
    """Wait for the write lock until ``deadline``: our writers in the queue, anyone else (another
    program holding the database) in SQLite's busy handler, bounded by what is left."""
    try:
        if queue is not None:
            queue.acquire(deadline)
            connection.info["queued_writer"] = queue
        left_ms = max(1, int((deadline - time.monotonic()) * 1000))
        connection.connection.dbapi_connection.execute(f"PRAGMA busy_timeout={left_ms}")
    except (OSError, sqlite3.Error) as error:  # a read-only file system, a wait that ran out
        _leave_queue(connection)
        raise OperationalError("BEGIN IMMEDIATE", None, error) from error


def _leave_queue(connection: Connection, finish: str = "ROLLBACK") -> None:
    """Finish the transaction, then let the next writer in.  These events fire before SQLAlchemy
    commits, so we end the transaction ourselves first (its own commit then finds none open).
    A failed COMMIT (a full disk) is rolled back before the lock is let go, and raised as
    SQLAlchemy raises every other database error."""
    queue = connection.info.pop("queued_writer", None)
    if queue is None:
        return
    dbapi_connection = connection.connection.dbapi_connection
    try:
        if dbapi_connection.in_transaction:
            dbapi_connection.execute(finish)
    except sqlite3.Error as error:
        with suppress(sqlite3.Error):
            if dbapi_connection.in_transaction:
                dbapi_connection.execute("ROLLBACK")
        raise DBAPIError.instance(finish, None, error, sqlite3.Error) from error
    finally:
        queue.release()


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        """A path that bounds its waits (the callbacks) bounds lock waits and statements alike."""
        wait = connection.get_execution_options().get("write_wait_seconds")
        if wait is not None:
            milliseconds = str(int(wait * 1000))
            connection.exec_driver_sql(
                "SELECT set_config('lock_timeout', %(ms)s, true), set_config('statement_timeout', %(ms)s, true)",
                {"ms": milliseconds})


def writer(engine: Engine, wait_seconds: float | None = None) -> Engine:
    """The same engine, but its transactions take the write lock at BEGIN on SQLite.  With
    ``wait_seconds`` every lock wait (and, on PostgreSQL, every statement) of the transaction is
    bounded by it; without, SQLite writers wait up to ``WRITE_WAIT_SECONDS``."""
    if wait_seconds is None:
        return engine.execution_options(sqlite_begin="IMMEDIATE")
    return engine.execution_options(sqlite_begin="IMMEDIATE", write_wait_seconds=wait_seconds)


def check_connection(engine: Engine) -> None:
    """Connect once, so that a wrong host or password is one clear line at startup."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        shown = engine.url.render_as_string(hide_password=True)
        raise DatabaseUnavailable(f"cannot connect to {shown}: {reason}", field=URL_VARIABLE) from None


@contextmanager
def unit_of_work(engine: Engine, *, wait_seconds: float | None = None) -> Iterator[Session]:
    """One write transaction: commit on success, roll back on any error (``wait_seconds``: see
    ``writer``).

    An error may carry ``record_after_rollback(session)`` (a ledger conflict, say): it is called
    in a fresh transaction after the rollback, so that the record survives the failed work.
    """
    session = Session(writer(engine, wait_seconds), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException as exc:
        session.rollback()
        record = getattr(exc, "record_after_rollback", None)
        if record is not None:
            with Session(writer(engine)) as audit:
                record(audit)
                audit.commit()
        raise
    finally:
        session.close()


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reading; it never commits."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


def session_on(connection: Connection) -> Session:
    """A reading session on a connection already in use: the same snapshot.  A page read on every
    visit asks its few statements on a bare connection (cheaper than a session) and opens one of these
    only when it has more to work out."""
    return Session(bind=connection, expire_on_commit=False)


def insert_ignoring_duplicates(connection: Connection | Session, table: Table, index_elements: Sequence[str],
                               returning: str | None = None):
    """``INSERT ... ON CONFLICT (cols) DO NOTHING [RETURNING col]`` for the connection's dialect.

    Built once per dialect and shape; pass the row as execution parameters."""
    return _insert_ignoring(_dialect_name(connection), table, tuple(index_elements), returning)


@cache
def _insert_ignoring(dialect: str, table: Table, index_elements: tuple[str, ...], returning: str | None):
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table).on_conflict_do_nothing(index_elements=list(index_elements))
    return statement.returning(table.c[returning]) if returning else statement


def bulk_insert(connection: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert plain tuples fast: COPY on PostgreSQL, executemany on SQLite.  Returns the row count.

    Values go to the driver as they are (no type processing): pass dates as ISO strings and
    timestamps through ``timestamp_value``.
    """
    rows = list(rows)
    if not rows:
        return 0
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        _sqlite_insert(connection, table, columns, rows)
    return len(rows)


def _sqlite_insert(connection: Connection, table: Table, columns: Sequence[str], rows: list[Sequence]) -> None:
    """executemany of a multi-row ``INSERT ... VALUES (...), (...), ...``: the per-statement cost of
    the sqlite3 module (bind, step, reset) is paid once per batch of rows, not per row (about 40 %
    less time for a million statement lines).  The rows that do not fill a batch go in one last one."""
    batch = max(1, SQLITE_PARAMETERS_PER_INSERT // len(columns))
    whole = len(rows) - len(rows) % batch
    row_marks = f"({', '.join('?' for _ in columns)})"
    for group, size in ((rows[:whole], batch), (rows[whole:], len(rows) - whole)):
        if group:
            connection.exec_driver_sql(
                f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES {', '.join([row_marks] * size)}",
                [tuple(chain.from_iterable(group[start:start + size])) for start in range(0, len(group), size)])


def timestamp_value(connection: Connection, instant: datetime) -> str:
    """An aware instant as the text ``bulk_insert`` hands the database for a timestamp column."""
    utc = instant.astimezone(UTC)
    if connection.dialect.name == "postgresql":
        return utc.isoformat()
    return utc.replace(tzinfo=None).isoformat(" ", "microseconds")  # SQLAlchemy's SQLite storage format


def among(session: Connection | Session, column_: ColumnElement, ids: Iterable[int]) -> ColumnElement[bool]:
    """``column_`` is one of ``ids``, bound as ONE parameter however many there are: ``= ANY(:ids)``
    on PostgreSQL, ``IN (SELECT value FROM json_each(:ids))`` on SQLite."""
    ids = list(ids)
    if _dialect_name(session) == "postgresql":
        return column_ == any_(literal(ids, postgresql.ARRAY(BigInteger)))
    return column_.in_(select(column("value")).select_from(func.json_each(literal(json.dumps(ids)))))


def _dialect_name(connection: Connection | Session) -> str:
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    return bind.dialect.name
