"""Schema migrations (Alembic), run programmatically by ``dianfei db upgrade`` and the tests.

The schema spans every layer's tables, so the migrations sit beside the packages rather than in
one of them; ``MODEL_MODULES`` lists where the tables are declared.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine
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
    with writer(engine).begin() as connection:
        command.upgrade(_config(connection), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    with writer(engine).begin() as connection:
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
