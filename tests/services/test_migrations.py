"""The migrations build exactly the schema the models declare, and go down and up again, with
data in the tables (SQLite recreates a table to change a constraint, under foreign keys)."""

from sqlmodel import select

import migrations
from billing.accounts import Account
from billing.db import read_session, unit_of_work
from billing.residents import Binding
from tests import factories


def test_models_and_migrations_agree(engine):
    migrations.check(engine)  # raises if autogenerate would produce a change


def test_downgrade_to_nothing_and_back(engine):
    migrations.downgrade(engine)
    assert migrations.current(engine) is None
    migrations.upgrade(engine)
    assert migrations.current(engine) == migrations.head()


def test_down_and_up_again_keep_rows_that_other_tables_refer_to(engine, clock):
    with unit_of_work(engine) as db:
        account = factories.account(db, at=clock(), account_no="3301000001")
        factories.resident(db, "13800000001", at=clock(), accounts=(account,))
    migrations.downgrade(engine, "0004")
    migrations.upgrade(engine)
    with read_session(engine) as db:
        assert db.exec(select(Account.account_no)).all() == ["3301000001"]
        assert len(db.exec(select(Binding)).all()) == 1
