"""The migrations build exactly the schema the models declare, and go down and up again, with
data in the tables (SQLite recreates a table to change a constraint, under foreign keys)."""

from datetime import UTC, date, datetime

from sqlalchemy import func, select, text

import migrations
from billing import ledger
from billing.accounts import Account
from billing.db import read_session, unit_of_work
from billing.ledger import Posting, Transfer
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


def test_0010_dates_existing_transfers_in_beijing_and_allows_expense_accounts(engine, clock):
    migrations.downgrade(engine, "0009")
    with unit_of_work(engine) as db:
        db.execute(text("INSERT INTO ledger_account (code, kind, debits_fen, credits_fen) VALUES "
                        "('clearing:wechat', 'asset', 100, 0), ('revenue:energy', 'revenue', 0, 100)"))
        db.execute(text("INSERT INTO ledger_transfer (key, debit_id, credit_id, amount_fen, code, memo, posted_at) "
                        "VALUES ('late', 1, 2, 100, 'x', '', :at)"), {"at": datetime(2026, 11, 27, 16, 30, tzinfo=UTC)})
    migrations.upgrade(engine)
    with unit_of_work(engine) as db:
        assert db.execute(select(Transfer.business_date)).scalar() == date(2026, 11, 28)  # 00:30 in Beijing
        ledger.open_ledger_account(db, "expense:channel_fee", ledger.EXPENSE)
        ledger.post(db, Posting("fee:1", "expense:channel_fee", "clearing:wechat", 6, "fee"), at=clock())
    with read_session(engine) as db:
        assert ledger.balance_fen(db, "expense:channel_fee") == 6
