"""A channel that tells different stories about one transaction: every distinct inconsistency is
an incident of its own (a retried delivery is not), and staff decisions that would contradict
what was already done with the money are refused."""

from dataclasses import replace

import pytest
from sqlmodel import select

from billing.db import read_session, unit_of_work
from billing.incidents import Incident
from billing.ledger import Transfer
from billing.staff import add_staff
from payments import decisions, refunds
from payments.errors import DecisionContradicts, RefundNotAllowed
from payments.gateways.base import PaymentReport
from payments.orders import ChannelPayment
from payments.refunds import Refund
from payments.settlement import settle
from tests.payment_helpers import acknowledged, balance, new_account, order, phone, start_payment


@pytest.fixture
def finance(engine):
    with unit_of_work(engine) as db:
        return [add_staff(db, username=f"finance{n}", name="陈静", password="pw", roles=["finance"]).id for n in (1, 2)]


def _incidents(engine) -> list[tuple[str, int | None]]:
    with read_session(engine) as db:
        return [(i.kind, i.details.get("reported_fen")) for i in db.exec(select(Incident).order_by(Incident.id))]


def _settle(engine, gateways, report: PaymentReport) -> str:
    with unit_of_work(engine) as db:
        return settle(db, report, gateways["wechat"].merchant, now=report.paid_at).outcome


def _report(gateways, clock, placed, txn, amount_fen: int) -> PaymentReport:
    merchant = gateways["wechat"].merchant
    return PaymentReport("wechat", placed.out_trade_no, "paid", amount_fen, merchant.app_id, merchant.merchant_id,
                         txn, paid_at=clock(), source="query")


def test_each_distinct_inconsistency_of_a_held_transaction_is_its_own_incident(engine, clock, gateways,
                                                                               wechat_sandbox, held):
    account, placed, txn = held
    for _ in range(2):  # retried deliveries of another story: another merchant id
        assert acknowledged("wechat", wechat_sandbox.deliver(wechat_sandbox.notification(txn, forge="wrong_mchid")))
    assert _incidents(engine) == [("amount_mismatch", 3001), ("wrong_merchant", 3001)]
    assert [_settle(engine, gateways, _report(gateways, clock, placed, txn, 3002)) for _ in range(2)] == [
        "held", "exists"]  # a third story: another amount, reported twice
    assert [_settle(engine, gateways, _report(gateways, clock, placed, txn, 3001)) for _ in range(2)] == [
        "exists", "exists"]  # the first story again
    assert _incidents(engine) == [("amount_mismatch", 3001), ("wrong_merchant", 3001), ("amount_mismatch", 3002)]
    assert balance(engine, account) == 0


def test_a_consistent_report_releases_every_incident_of_the_transaction(engine, clock, gateways, wechat_sandbox, held):
    account, placed, txn = held
    assert acknowledged("wechat", wechat_sandbox.deliver(wechat_sandbox.notification(txn, forge="wrong_mchid")))
    assert _settle(engine, gateways, _report(gateways, clock, placed, txn, 3000)) == "credited"
    with read_session(engine) as db:
        assert {i.status for i in db.exec(select(Incident))} == {"resolved"}
    assert balance(engine, account) == 3000


def test_a_credited_transaction_reported_again_with_another_amount_opens_an_incident(request, engine, clock, app,
                                                                                    gateways):
    account = new_account(engine, clock)
    placed = start_payment(engine, gateways["wechat"], account, 5000, clock)
    device = phone(request, "wechat")
    txn = device.pay(placed)
    assert acknowledged("wechat", device.deliver(device.notification(placed.out_trade_no, txn)))
    changed = _report(gateways, clock, placed, txn, 4999)
    assert [_settle(engine, gateways, changed) for _ in range(2)] == ["held", "exists"]
    assert _settle(engine, gateways, replace(changed, amount_fen=5000)) == "exists"
    assert _incidents(engine) == [("amount_mismatch", 4999)]
    assert balance(engine, account) == 5000
    with read_session(engine) as db:
        assert db.exec(select(ChannelPayment.outcome)).all() == ["credited"]


def _decide(engine, clock, incident_id, decision, staff_id, **fields):
    with unit_of_work(engine) as db:
        return decisions.decide(db, incident_id, decision=decision, staff_id=staff_id, now=clock(), **fields)


def _incident_ids(engine) -> list[int]:
    with read_session(engine) as db:
        return list(db.exec(select(Incident.id).order_by(Incident.id)))


def test_held_money_being_refunded_cannot_be_credited_by_another_incident(engine, clock, gateways, held, finance):
    account, placed, txn = held
    assert _settle(engine, gateways, _report(gateways, clock, placed, txn, 3002)) == "held"  # another story
    first, second = _incident_ids(engine)
    _decide(engine, clock, first, "refund", finance[0])
    with pytest.raises(DecisionContradicts) as error:
        _decide(engine, clock, second, "credit", finance[0], account_no=account.account_no)
    assert error.value.field == "credit"
    with read_session(engine) as db:
        assert db.get(Incident, second).status == "open"
        assert db.exec(select(Transfer.key)).all() == [f"held:wechat:{txn}"]  # still in suspense, on no balance
    _decide(engine, clock, second, "acknowledge", finance[0])  # what is left to do with it


def test_held_money_being_refunded_cannot_be_credited_until_the_refund_is_rejected(engine, clock, gateways, held,
                                                                                   finance):
    account, placed, txn = held
    assert _settle(engine, gateways, _report(gateways, clock, placed, txn, 3002)) == "held"  # another story
    first, second = _incident_ids(engine)
    _decide(engine, clock, second, "refund", finance[0])  # proposed, not yet approved ...
    with pytest.raises(DecisionContradicts):  # ... so crediting it now would pay it out twice
        _decide(engine, clock, first, "credit", finance[0], account_no=account.account_no)
    with read_session(engine) as db:
        proposed = db.exec(select(Refund)).one()
    with unit_of_work(engine) as db:
        refunds.decide(db, db.get(Refund, proposed.id), staff_id=finance[1], approve=False, now=clock())
    _decide(engine, clock, first, "credit", finance[0], account_no=account.account_no)
    assert balance(engine, account) == 3001


def test_a_held_refund_proposed_before_the_money_was_credited_cannot_be_approved(engine, clock, gateways,
                                                                                  wechat_sandbox, held, finance):
    account, placed, txn = held
    (first,) = _incident_ids(engine)
    _decide(engine, clock, first, "refund", finance[0])
    # The channel's own query then says 30.00 after all: the transaction is consistent and credited.
    assert _settle(engine, gateways, _report(gateways, clock, placed, txn, 3000)) == "credited"
    with read_session(engine) as db:
        proposed = db.exec(select(Refund)).one()
    with pytest.raises(RefundNotAllowed) as error, unit_of_work(engine) as db:
        refunds.decide(db, db.get(Refund, proposed.id), staff_id=finance[1], approve=True, now=clock())
    assert error.value.field == "credited"
    assert balance(engine, account) == 3000


def test_keeping_a_duplicate_payment_whose_refund_was_approved_is_refused(request, engine, clock, app, gateways,
                                                                         finance):
    account = new_account(engine, clock)
    placed = start_payment(engine, gateways["wechat"], account, 5000, clock)
    device = phone(request, "wechat")
    for payer in ("phone-a", "phone-b"):
        txn = device.pay(placed, payer)
        assert acknowledged("wechat", device.deliver(device.notification(placed.out_trade_no, txn)))
    with read_session(engine) as db:
        proposed, incident = db.exec(select(Refund)).one(), db.exec(select(Incident)).one()
    with unit_of_work(engine) as db:
        refunds.decide(db, db.get(Refund, proposed.id), staff_id=finance[1], approve=True, now=clock())
    with pytest.raises(DecisionContradicts) as error:
        _decide(engine, clock, incident.id, "keep", finance[0])
    assert error.value.field == "keep"
    with read_session(engine) as db:
        assert db.get(Incident, incident.id).status == "open" and db.get(Refund, proposed.id).state == "approved"
    assert order(engine, placed.out_trade_no).state == "paid" and balance(engine, account) == 10000


def test_held_money_cannot_be_refunded_from_the_refunds_page(engine, clock, held, finance):
    with read_session(engine) as db:
        payment = db.exec(select(ChannelPayment)).one()
    with pytest.raises(RefundNotAllowed) as error, unit_of_work(engine) as db:
        refunds.request(db, staff_id=finance[0], payment=payment, amount_fen=100, reason="overpayment", note="",
                        now=clock())
    assert error.value.field == "channel_txn_id"


def test_held_money_credited_by_decision_is_refunded_from_the_balance_it_went_to(engine, clock, wechat_sandbox, held,
                                                                                finance):
    account, _, txn = held
    other = new_account(engine, clock)
    assert acknowledged("wechat", wechat_sandbox.deliver(wechat_sandbox.notification(txn, forge="unknown_order")))
    mismatch, unknown = _incident_ids(engine)
    _decide(engine, clock, mismatch, "credit", finance[0], account_no=other.account_no)  # not the order's 户号
    _decide(engine, clock, unknown, "credit", finance[0], account_no=account.account_no)  # no order at all
    assert (balance(engine, account), balance(engine, other)) == (3001, 3001)
    with read_session(engine) as db:
        payments = {p.order_id is None: p for p in db.exec(select(ChannelPayment))}
    asked = {}
    for no_order, payment in payments.items():
        with unit_of_work(engine) as db:
            asked[no_order] = refunds.request(db, staff_id=finance[1], payment=payment, amount_fen=1000,
                                              reason="overpayment", note="", now=clock()).debit_code
    assert asked == {False: f"customer:{other.account_no}", True: f"customer:{account.account_no}"}
