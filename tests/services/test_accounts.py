"""户号: validation, creation with a ledger balance, lookups."""

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy import text

from billing import ledger
from billing.accounts import get_account, validate_account_no
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput, NotFound
from tests import factories


@pytest.mark.parametrize("bad", ["123456789", "12345678901", "12345a7890", "", None, 1234567890, "１２３４５６７８９０"])
def test_account_number_is_ten_digits(bad):
    with pytest.raises(InvalidInput) as error:
        validate_account_no(bad)
    assert error.value.field == "account_no"


def test_open_account_starts_with_a_zero_customer_balance(engine, clock):
    with unit_of_work(engine) as db:
        account = factories.account(db, at=clock(), account_no="3301000001", regime="prepaid")
    with read_session(engine) as db:
        found = get_account(db, "3301000001")
        assert (found.regime, found.status, found.protected) == ("prepaid", "active", False)
        assert ledger.balance_fen(db, ledger.customer_code("3301000001")) == 0
        assert ledger.customer_balances(db, [account.id]) == {account.id: 0}


@pytest.mark.parametrize(("field", "value"), [("category", "farm"), ("regime", "weekly"), ("holder_name", "  ")])
def test_open_account_rejects_bad_fields_by_name(engine, clock, field, value):
    with pytest.raises(InvalidInput) as error:
        with unit_of_work(engine) as db:
            factories.account(db, at=clock(), **{field: value})
    assert error.value.field == field


def test_unknown_account_is_not_found(engine):
    with read_session(engine) as db, pytest.raises(NotFound):
        get_account(db, "0000000000")


def test_database_refuses_short_account_numbers_and_unknown_statuses(engine, clock):
    with unit_of_work(engine) as db:
        factories.account(db, at=clock(), account_no="3301000002")
    for statement in ("UPDATE account SET account_no = '123'", "UPDATE account SET status = 'sleeping'"):
        with pytest.raises(IntegrityError), unit_of_work(engine) as db:
            db.execute(text(statement))
