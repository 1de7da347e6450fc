"""The ledger: idempotent posting, conflicts, refusal of bad transfers, append-only storage."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import select

from billing import ledger
from billing.accounts import get_account
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput, TransferConflict
from billing.incidents import Incident
from billing.ledger import Posting, Transfer
from tests import factories


def _customer(engine, clock):
    with unit_of_work(engine) as db:
        return factories.account(db, at=clock()).account_no


def test_post_moves_money_and_is_idempotent(engine, clock):
    account_no = _customer(engine, clock)
    customer = ledger.customer_code(account_no)
    payment = Posting("pay:wechat:4200001", "clearing:wechat", customer, 5000, "payment")
    with unit_of_work(engine) as db:
        first = ledger.post(db, payment, at=clock())
    with unit_of_work(engine) as db:
        again = ledger.post(db, payment, at=clock())
    assert first.status == "created" and again.status == "exists"
    assert again.transfer_id == first.transfer_id
    with read_session(engine) as db:
        assert ledger.balance_fen(db, customer) == 5000
        assert ledger.balance_fen(db, "clearing:wechat") == 5000
        assert len(db.exec(select(Transfer)).all()) == 1


def test_bill_debits_customer_into_arrears(engine, clock):
    account_no = _customer(engine, clock)
    customer = ledger.customer_code(account_no)
    with unit_of_work(engine) as db:
        ledger.post(db, Posting("pay:alipay:1", "clearing:alipay", customer, 3000, "payment"), at=clock())
        ledger.post(db, Posting("bill:1", customer, "revenue:energy", 8000, "bill"), at=clock())
    with read_session(engine) as db:
        assert ledger.balance_fen(db, customer) == -5000
        assert ledger.balance_fen(db, "revenue:energy") == 8000
        account_id = get_account(db, account_no).id
        assert ledger.customer_balances(db, [account_id]) == {account_id: -5000}


def test_same_key_with_other_fields_raises_and_is_recorded(engine, clock):
    account_no = _customer(engine, clock)
    customer = ledger.customer_code(account_no)
    with unit_of_work(engine) as db:
        ledger.post(db, Posting("pay:wechat:42", "clearing:wechat", customer, 5000, "payment"), at=clock())
    with pytest.raises(TransferConflict):
        with unit_of_work(engine) as db:
            ledger.post(db, Posting("pay:wechat:42", "clearing:wechat", customer, 5001, "payment"), at=clock())
    with read_session(engine) as db:
        assert ledger.balance_fen(db, customer) == 5000
        incident = db.exec(select(Incident)).one()
        assert incident.kind == "transfer_conflict" and incident.ref == "pay:wechat:42"
        assert incident.details["existing"]["amount_fen"] == 5000
        assert incident.details["attempted"]["amount_fen"] == 5001


def test_conflict_rolls_back_the_whole_unit_of_work(engine, clock):
    account_no = _customer(engine, clock)
    customer = ledger.customer_code(account_no)
    with unit_of_work(engine) as db:
        ledger.post(db, Posting("k1", "clearing:wechat", customer, 100, "payment"), at=clock())
    with pytest.raises(TransferConflict):
        with unit_of_work(engine) as db:
            ledger.post(db, Posting("k2", "clearing:wechat", customer, 700, "payment"), at=clock())
            ledger.post(db, Posting("k1", "clearing:alipay", customer, 100, "payment"), at=clock())
    with read_session(engine) as db:
        assert ledger.balance_fen(db, customer) == 100
        assert db.exec(select(Transfer.key)).all() == ["k1"]


@pytest.mark.parametrize(
    ("posting", "field"),
    [
        (Posting("k", "clearing:wechat", "revenue:energy", 0, "payment"), "amount_fen"),
        (Posting("k", "clearing:wechat", "revenue:energy", -5, "payment"), "amount_fen"),
        (Posting("k", "clearing:wechat", "revenue:energy", 1.5, "payment"), "amount_fen"),
        (Posting("k", "clearing:wechat", "clearing:wechat", 100, "payment"), "credit"),
        (Posting("", "clearing:wechat", "revenue:energy", 100, "payment"), "key"),
        (Posting("k", "clearing:nowhere", "revenue:energy", 100, "payment"), "code"),
    ],
)
def test_bad_postings_raise_before_touching_the_database(engine, clock, posting, field):
    with pytest.raises(InvalidInput) as error:
        with unit_of_work(engine) as db:
            ledger.post(db, posting, at=clock())
    assert error.value.field == field
    with read_session(engine) as db:
        assert db.exec(select(Transfer)).all() == []


@pytest.mark.parametrize(
    ("amount", "debit_is_credit"), [(0, False), (-100, False), (100, True)], ids=["zero", "negative", "self"]
)
def test_check_constraints_stop_bad_transfers_inside_the_database(engine, clock, amount, debit_is_credit):
    with unit_of_work(engine) as db:
        ids = ledger.account_ids(db, ["clearing:wechat", "revenue:energy"])
    credit = ids["clearing:wechat"] if debit_is_credit else ids["revenue:energy"]
    with pytest.raises(IntegrityError):
        with unit_of_work(engine) as db:
            db.execute(
                text("INSERT INTO ledger_transfer (key, debit_id, credit_id, amount_fen, code, memo, posted_at, business_date) "
                     "VALUES ('raw', :d, :c, :a, 'x', '', :t, :b)"),
                {"d": ids["clearing:wechat"], "c": credit, "a": amount, "t": clock(), "b": clock().date()},
            )


@pytest.mark.parametrize("statement", ["UPDATE ledger_transfer SET amount_fen = 1", "DELETE FROM ledger_transfer"])
def test_transfers_are_append_only(engine, clock, statement):
    account_no = _customer(engine, clock)
    with unit_of_work(engine) as db:
        ledger.post(db, Posting("k", "clearing:wechat", ledger.customer_code(account_no), 100, "payment"), at=clock())
    with pytest.raises(DBAPIError, match="append-only"):
        with unit_of_work(engine) as db:
            db.execute(text(statement))
    with read_session(engine) as db:
        assert db.exec(select(Transfer.amount_fen)).all() == [100]


def test_invariant_check_finds_a_tampered_cached_balance(engine, clock):
    account_no = _customer(engine, clock)
    code = ledger.customer_code(account_no)
    with unit_of_work(engine) as db:
        ledger.post(db, Posting("k", "clearing:wechat", code, 100, "payment"), at=clock())
        db.execute(text("UPDATE ledger_account SET credits_fen = credits_fen + 1 WHERE code = :c"), {"c": code})
        problems = ledger.check_invariants(db)
        db.rollback()
    assert any(code in problem for problem in problems)
    assert any("cached debits" in problem for problem in problems)


BIGINT_MAX = 2**63 - 1


def test_a_posting_that_would_overflow_a_cached_total_is_refused_and_changes_nothing(engine, clock):
    """9,999,999,999,999,999.99 元 once overflowed the BIGINT totals and broke the ledger for good."""
    account_no = _customer(engine, clock)
    customer = ledger.customer_code(account_no)
    with unit_of_work(engine) as db:
        ledger.post(db, Posting("big", "clearing:counter", customer, BIGINT_MAX - 10, "payment"), at=clock())
    for key, debit, amount in (("over", "clearing:counter", 11), ("other-side", "clearing:wechat", 11)):
        with pytest.raises(InvalidInput) as error, unit_of_work(engine) as db:
            ledger.post(db, Posting(key, debit, customer, amount, "payment"), at=clock())
        assert error.value.field == "amount_fen"
    with unit_of_work(engine) as db:  # a caller that swallows the error and commits still breaks nothing
        with pytest.raises(InvalidInput):
            ledger.post(db, Posting("swallowed", "clearing:wechat", customer, 11, "payment"), at=clock())
    with unit_of_work(engine) as db:  # up to the limit is fine
        ledger.post(db, Posting("fits", "clearing:wechat", customer, 10, "payment"), at=clock())
    with unit_of_work(engine) as db:  # and a repeat of a posting already made is still a repeat
        again = ledger.post(db, Posting("big", "clearing:counter", customer, BIGINT_MAX - 10, "payment"), at=clock())
    assert again.status == "exists"
    with read_session(engine) as db:
        assert ledger.balance_fen(db, customer) == BIGINT_MAX
        assert db.exec(select(Transfer.key).order_by(Transfer.id)).all() == ["big", "fits"]
        assert ledger.check_invariants(db) == []


@pytest.mark.parametrize("amount", [BIGINT_MAX + 1, 10**30], ids=["bigint+1", "10^30"])
def test_an_amount_beyond_bigint_is_refused_before_the_database(engine, clock, amount):
    with pytest.raises(InvalidInput) as error, unit_of_work(engine) as db:
        ledger.post(db, Posting("huge", "clearing:wechat", "revenue:energy", amount, "payment"), at=clock())
    assert error.value.field == "amount_fen"


def test_invariants_hold_when_the_totals_of_all_accounts_exceed_bigint(engine, clock):
    """Each account stays within BIGINT, but their sum need not: the check must still answer."""
    first, second = _customer(engine, clock), _customer(engine, clock)
    with unit_of_work(engine) as db:
        for key, channel, account_no in (("a", "clearing:wechat", first), ("b", "clearing:alipay", second)):
            ledger.post(db, Posting(key, channel, ledger.customer_code(account_no), BIGINT_MAX, "payment"), at=clock())
    with read_session(engine) as db:
        assert ledger.check_invariants(db) == []
