"""The migrations build exactly the schema the models declare, and go down and up again, with
data in the tables (SQLite recreates a table to change a constraint, under foreign keys)."""

from sqlalchemy import func, select

import migrations
from billing.accounts import Account
from billing.db import read_session, unit_of_work
from billing.reads import Read
from tests.review_helpers import metered


def test_models_and_migrations_agree(engine):
    migrations.check(engine)  # raises if autogenerate would produce a change


def test_downgrade_to_nothing_and_back(engine):
    migrations.downgrade(engine)
    assert migrations.current(engine) is None
    migrations.upgrade(engine)
    assert migrations.current(engine) == migrations.head()


def test_stepping_down_past_a_table_rebuild_keeps_the_rows_that_refer_to_it(engine, clock):
    """SQLite rebuilds a table to alter it (0006 down rebuilds ``account``): the rows that refer to
    it (meters' installations, ledger accounts, reads) must neither fail the rebuild nor be lost."""
    with unit_of_work(engine) as db:
        metered(db, clock, days=5)
    migrations.downgrade(engine, "0004")
    migrations.upgrade(engine)
    with read_session(engine) as db:
        assert db.execute(select(func.count()).select_from(Account)).scalar() == 1
        assert db.execute(select(func.count()).select_from(Read)).scalar() == 5
