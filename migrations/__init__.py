"""Schema migrations (Alembic), run programmatically by ``dianfei db upgrade`` and the tests.

The schema spans every layer's tables, so the migrations sit beside the packages rather than in
one of them; ``MODEL_MODULES`` lists where the tables are declared.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from billing.db import writer

MODEL_MODULES = (
    "billing.accounts",
    "billing.residents",
    "billing.staff",
    "billing.managers",
    "billing.reads",
    "billing.meters",
    "billing.review",
    "billing.routes",
    "billing.line_loss",
    "billing.ledger",
    "billing.incidents",
    "billing.events",
    "billing.audit",
    "billing.throttle",
    "billing.logins",
    "payments.orders",
    "payments.refunds",
    "payments.counter",
)

HERE = Path(__file__).parent


def metadata():
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return SQLModel.metadata


def _config(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    with _migrating(engine) as connection:
        command.upgrade(_config(connection), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    with _migrating(engine) as connection:
        command.downgrade(_config(connection), revision)


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One write transaction for the migration.  On SQLite, changing a constraint means recreating
    the table (Alembic's batch mode), which foreign keys from rows in other tables would refuse: they
    are switched off for the migration (only possible outside a transaction) and every reference is
    checked before the commit."""
    with writer(engine).connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left broken references: {broken[:5]}")
        finally:
            if sqlite:
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")


def check(engine: Engine) -> None:
    """Raise if the models and the migrations disagree (``alembic check``)."""
    with engine.connect() as connection:
        command.check(_config(connection))


def head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config(None)).get_current_head()


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
