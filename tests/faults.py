"""Faults a running app meets, made on purpose and ended on purpose, without a special file system.

Each is a context manager; the app under test keeps running through it, so a test can check how
it fails and that the same process serves again once the fault is gone.
"""

from __future__ import annotations

import resource
import signal
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from billing.db import make_engine


def database_path(engine: Engine) -> Path:
    return Path(engine.url.database)


class ReadOnlyDatabase:
    """The database takes reads but refuses every write while ``active``: SQLite through
    ``query_only``, PostgreSQL through ``default_transaction_read_only`` (a fail-over to a replica
    looks like this).  Set on each connection as the pool hands it out."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.active = engine, True

    def _on_checkout(self, dbapi_connection, _record, _proxy) -> None:
        if self.engine.dialect.name == "sqlite":
            dbapi_connection.execute(f"PRAGMA query_only={int(self.active)}")
            return
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET default_transaction_read_only = {'on' if self.active else 'off'}")
        dbapi_connection.commit()

    def __enter__(self) -> ReadOnlyDatabase:
        event.listen(self.engine, "checkout", self._on_checkout)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "checkout", self._on_checkout)
        self.engine.dispose()  # no connection leaves the test still read-only


@contextmanager
def lock_file_unopenable(engine: Engine):
    """The writer queue's lock file cannot be opened for writing, as on a read-only file system
    (a directory stands in its place: root cannot open that for writing either)."""
    path = Path(f"{database_path(engine)}-writers")
    saved = path.with_name(path.name + ".saved")
    if path.exists():
        path.rename(saved)
    path.mkdir()
    try:
        yield
    finally:
        path.rmdir()
        if saved.exists():
            saved.rename(path)


@contextmanager
def disk_refuses_writes():
    """The file system takes no more bytes from this process, as a full disk does: every write()
    fails (EFBIG under RLIMIT_FSIZE 0; SIGXFSZ ignored so that it fails instead of killing us).
    SQLite's ``max_page_count`` is no substitute: it refuses only growth, and a settle whose rows
    fit the free room of existing pages commits anyway."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


@contextmanager
def write_lock_held(engine: Engine):
    """Another program holds the write lock: on SQLite a connection of its own in BEGIN IMMEDIATE,
    on PostgreSQL a transaction holding the payment orders in EXCLUSIVE mode (reads go on)."""
    if engine.dialect.name == "sqlite":
        other = sqlite3.connect(database_path(engine), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    with engine.connect() as other:
        other.execute(text("LOCK TABLE payment_order IN EXCLUSIVE MODE"))
        try:
            yield
        finally:
            other.rollback()


HOLD_LOCK = ("import fcntl, sys; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); "
             "print('held', flush=True); sys.stdin.read()")


@contextmanager
def writer_queue_held_elsewhere(engine: Engine):
    """Another process holds the SQLite writer queue's file lock until the fault ends."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, f"{database_path(engine)}-writers"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.stdin.close()
        holder.wait(10)


@contextmanager
def database_refuses_connections(engine: Engine):
    """A PostgreSQL outage as the app sees it: every connection is cut and no new one is let in."""
    name = engine.url.database
    admin = make_engine(engine.url.set(database="postgres").render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                           {"name": name})
        try:
            yield
        finally:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    admin.dispose()
