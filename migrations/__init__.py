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
    "billing.bill_records",
    "billing.bill_run_records",
    "billing.daily_settlement_records",
    "billing.late_fee_posting",
    "billing.waivers",
    "billing.dunning_records",
    "billing.payment_plans",
    "billing.bad_debt_records",
    "billing.supply_order_records",
    "billing.incidents",
    "billing.events",
    "billing.audit",
    "billing.throttle",
    "billing.logins",
    "payments.orders",
    "payments.refunds",
    "payments.counter",
    "payments.reconciliation_records",
    "payments.fees",
    "payments.write_offs",
    "notifications.records",
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


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One write transaction.  On SQLite foreign keys are off while it runs and checked before it
    commits: a batch migration rebuilds a table (copy, drop, rename), and dropping a table that other
    rows refer to fails, or leaves SQLite's count of deferred violations up, though the rename puts
    every row back."""
    with writer(engine).connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # only outside a transaction does SQLite honour it
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                yield connection
                dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() if sqlite else []
                if dangling:
                    raise RuntimeError(f"the migration left rows that refer to nothing: {dangling[:5]}")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def upgrade(engine: Engine, revision: str = "head") -> None:
    with _migrating(engine) as connection:
        command.upgrade(_config(connection), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    with _migrating(engine) as connection:
        command.downgrade(_config(connection), revision)



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
