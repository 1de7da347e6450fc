"""Held money on the books: verified money we cannot place waits in ``suspense:<channel>`` from the
moment it is held until finance decides, so clearing always holds what the channel took."""

import pytest
from sqlalchemy import func
from sqlmodel import select

from billing import ledger
from billing.db import read_session, unit_of_work
from billing.incidents import Incident
from billing.ledger import Transfer
from billing.staff import add_staff
from payments import decisions
from payments.errors import DecisionContradicts
from payments.gateways.base import PaymentReport
from payments.orders import ChannelPayment
from payments.refunds import SUCCEEDED, Refund
from payments.settlement import settle

from tests.payment_helpers import acknowledged, balance, new_account, refund_held_money


@pytest.fixture
def finance(engine):
    with unit_of_work(engine) as db:
        return add_staff(db, username="finance1", name="陈静", password="pw", roles=["finance"]).id


def _books(engine) -> tuple[int, int]:
    """(suspense, clearing) of WeChat Pay, each on its normal side."""
    with read_session(engine) as db:
        assert ledger.check_invariants(db) == []
        return ledger.balance_fen(db, "suspense:wechat"), ledger.balance_fen(db, "clearing:wechat")


def _undecided_held_fen(engine) -> int:
    """Held payments of ours not yet credited or refunded, summed from the payments, not the ledger."""
    with read_session(engine) as db:
        refunded = select(Refund.channel_payment_id).where(Refund.state == SUCCEEDED)
        return db.exec(select(func.coalesce(func.sum(ChannelPayment.amount_fen), 0))
                       .join(Incident, Incident.id == ChannelPayment.incident_id)
                       .where(ChannelPayment.outcome == "held", Incident.kind != "wrong_merchant",
                              ChannelPayment.id.not_in(refunded))).one()


def _decide(engine, clock, incident_id, decision, staff_id, **fields):
    with unit_of_work(engine) as db:
        decisions.decide(db, incident_id, decision=decision, staff_id=staff_id, now=clock(), **fields)


def test_held_money_is_in_suspense_at_once_and_once(engine, clock, gateways, wechat_sandbox, held):
    _, _, txn = held
    assert _books(engine) == (3001, 3001)
    for forge in ("wrong_mchid", "wrong_mchid"):  # further stories of the same transaction move no money
        assert acknowledged("wechat", wechat_sandbox.deliver(wechat_sandbox.notification(txn, forge=forge)))
    assert _books(engine) == (3001, 3001) == (_undecided_held_fen(engine), 3001)
    with read_session(engine) as db:
        assert db.exec(select(Transfer.key, Transfer.code)).all() == [(f"held:wechat:{txn}", "held")]


def test_credit_decision_moves_held_money_from_suspense_to_the_customer(engine, clock, held, finance):
    account, _, txn = held
    other = new_account(engine, clock)
    (incident,) = _incident_ids(engine)
    _decide(engine, clock, incident, "credit", finance, account_no=other.account_no)
    assert _books(engine) == (0, 3001) and _undecided_held_fen(engine) == 0
    assert (balance(engine, account), balance(engine, other)) == (0, 3001)
    with read_session(engine) as db:
        debit = db.exec(select(ledger.LedgerAccount.code).join(Transfer, Transfer.debit_id == ledger.LedgerAccount.id)
                        .where(Transfer.key == f"pay:wechat:{txn}")).one()
    assert debit == "suspense:wechat"


def test_a_consistent_report_takes_held_money_out_of_suspense(engine, clock, gateways, held):
    account, placed, txn = held
    merchant = gateways["wechat"].merchant
    report = PaymentReport("wechat", placed.out_trade_no, "paid", 3000, merchant.app_id, merchant.merchant_id, txn,
                           paid_at=clock(), source="query")
    for expected in ("credited", "exists"):
        with unit_of_work(engine) as db:
            assert settle(db, report, merchant, now=clock()).outcome == expected
    # held 30.01, given back to clearing, then the 30.00 the channel now reports posted as a payment
    assert _books(engine) == (0, 3000) and balance(engine, account) == 3000
    with read_session(engine) as db:
        assert [(k, a) for k, a in db.exec(select(Transfer.key, Transfer.amount_fen).order_by(Transfer.id))] == [
            (f"held:wechat:{txn}", 3001), (f"unhold:wechat:{txn}", 3001), (f"pay:wechat:{txn}", 3000)]


def test_suspense_equals_the_undecided_held_payments(engine, clock, wechat_sandbox, held, finance):
    account, _, txn = held
    assert acknowledged("wechat", wechat_sandbox.deliver(wechat_sandbox.notification(txn, forge="unknown_order")))
    assert _books(engine) == (6002, 6002) == (_undecided_held_fen(engine), 6002)
    mismatch, unknown = _incident_ids(engine)
    with pytest.raises(DecisionContradicts) as error:  # closing it would leave the money in suspense for ever
        _decide(engine, clock, unknown, "acknowledge", finance)
    assert error.value.field == "acknowledge" and "suspense" in str(error.value)
    _decide(engine, clock, mismatch, "credit", finance, account_no=account.account_no)
    assert _books(engine) == (3001, 6002) == (_undecided_held_fen(engine), 6002)
    _decide(engine, clock, unknown, "credit", finance, account_no=account.account_no)
    assert _books(engine) == (0, 6002) == (_undecided_held_fen(engine), 6002)
    assert balance(engine, account) == 6002


def _incident_ids(engine) -> list[int]:
    with read_session(engine) as db:
        return list(db.exec(select(Incident.id).order_by(Incident.id)))


def test_a_consistent_report_after_held_money_was_refunded_credits_nothing(engine, clock, gateways, wechat_sandbox,
                                                                            held):
    account, placed, txn = held
    refund_held_money(engine, clock, gateways, wechat_sandbox)
    assert _books(engine) == (0, 0)
    merchant = gateways["wechat"].merchant
    report = PaymentReport("wechat", placed.out_trade_no, "paid", 3000, merchant.app_id, merchant.merchant_id, txn,
                           paid_at=clock(), source="query")
    with unit_of_work(engine) as db:  # the channel's query now says 30.00: the money went back all the same
        assert settle(db, report, merchant, now=clock()).outcome == "exists"
    assert _books(engine) == (0, 0) and balance(engine, account) == 0
