"""Staff decisions on held money, and the channels' daily statements as we download them."""

from datetime import timedelta

import pytest
from sqlmodel import select

from billing.audit import AuditEntry
from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput
from billing.incidents import Incident
from billing import ledger
from billing.ledger import Transfer
from billing.staff import add_staff
from payments import decisions, refunds
from payments.errors import GatewayError, PaymentError
from payments.orders import ChannelPayment
from payments.refunds import Refund
from payments.sync import submit_refund, sync
from tests.payment_helpers import acknowledged, balance, new_account, phone, start_payment


@pytest.fixture
def finance(engine):
    with unit_of_work(engine) as db:
        return [add_staff(db, username=f"finance{n}", name="陈静", password="pw", roles=["finance"]).id for n in (1, 2)]


@pytest.fixture
def held_incident(engine, held):
    """The held payment (see ``held``) and its incident."""
    account, _, _ = held
    with read_session(engine) as db:
        incident = db.exec(select(Incident)).one()
    return account, incident


def test_held_money_credited_by_decision(engine, clock, held_incident, finance):
    account, incident = held_incident
    with unit_of_work(engine) as db:
        decisions.decide(db, incident.id, decision="credit", staff_id=finance[0], now=clock(),
                         account_no=account.account_no, note="客户来电确认")
    assert balance(engine, account) == incident.details["reported_fen"]
    with read_session(engine) as db:
        resolved = db.get(Incident, incident.id)
        assert resolved.status == "resolved" and "客户来电确认" in resolved.resolution
        assert db.exec(select(ChannelPayment.outcome)).one() == "credited"
        assert db.exec(select(AuditEntry.action)).all() == ["resolve_incident"]
    with pytest.raises(PaymentError), unit_of_work(engine) as db:  # decided already
        decisions.decide(db, incident.id, decision="credit", staff_id=finance[0], now=clock(), account_no=account.account_no)


def test_held_money_refunded_by_decision_moves_no_balance(engine, clock, gateways, held_incident, finance,
                                                         wechat_sandbox):
    account, incident = held_incident
    with unit_of_work(engine) as db:
        decisions.decide(db, incident.id, decision="refund", staff_id=finance[0], now=clock())
    with read_session(engine) as db:
        refund = db.exec(select(Refund)).one()
    assert (refund.state, refund.debit_code, refund.amount_fen) == ("proposed", "suspense:wechat",
                                                                     incident.details["reported_fen"])
    with unit_of_work(engine) as db:
        refunds.decide(db, db.get(Refund, refund.id), staff_id=finance[1], approve=True, now=clock())
    submit_refund(engine, gateways, refund.refund_no, now=clock())
    assert wechat_sandbox.wait_idle(10)
    sync(engine, gateways, now=clock(), older_than=timedelta(minutes=5))
    with read_session(engine) as db:
        assert db.get(Refund, refund.id).state == "succeeded"
        # held, then refunded: in and out of suspense, never on a balance
        assert [(t.key.split(":")[0], t.amount_fen) for t in db.exec(select(Transfer).order_by(Transfer.id))] == [
            ("held", 3001), ("refund", 3001)]
        assert ledger.balance_fen(db, "suspense:wechat") == 0 and ledger.balance_fen(db, "clearing:wechat") == 0
    assert balance(engine, account) == 0


def test_decisions_are_limited_to_the_incident_kind(engine, clock, held_incident, finance):
    _, incident = held_incident
    with pytest.raises(InvalidInput), unit_of_work(engine) as db:
        decisions.decide(db, incident.id, decision="keep", staff_id=finance[0], now=clock())


def _pay_and_notify(request, engine, clock, gateways, channel, amount):
    account = new_account(engine, clock)
    started = start_payment(engine, gateways[channel], account, amount, clock)
    device = phone(request, channel)
    txn = device.pay(started)
    assert acknowledged(channel, device.deliver(device.notification(started.out_trade_no, txn)))
    return started, txn


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
def test_statement_lists_the_day_in_fen(request, engine, clock, app, gateways, channel):
    day = beijing_date(clock())
    first, first_txn = _pay_and_notify(request, engine, clock, gateways, channel, 10000)
    second, second_txn = _pay_and_notify(request, engine, clock, gateways, channel, 2550)
    gateways[channel].refund("RF-TEST-1", out_trade_no=first.out_trade_no, channel_txn_id=first_txn, amount_fen=4000,
                             total_fen=10000, reason="test")
    clock.advance(days=1, hours=2)  # next day, after 10:00 in Beijing: statements are ready
    lines = gateways[channel].statement(day)
    payments = sorted((line.out_trade_no, line.channel_txn_id, line.amount_fen, line.fee_millifen)
                      for line in lines if line.kind == "payment")
    # 0.6 % of 25.50 元 is 0.15300 元: WeChat Pay states it exactly, Alipay rounds its 服务费 to the fen.
    second_fee = {"wechat": 15300, "alipay": 15000}[channel]
    assert payments == sorted([(first.out_trade_no, first_txn, 10000, 60000),
                               (second.out_trade_no, second_txn, 2550, second_fee)])
    assert [(line.refund_no, line.amount_fen, line.fee_millifen) for line in lines if line.kind == "refund"] == [
        ("RF-TEST-1", 4000, -24000)]
    assert gateways[channel].statement(day - timedelta(days=3)) == []


def test_a_corrupted_wechat_statement_is_refused(request, engine, clock, app, gateways, wechat_sandbox):
    day = beijing_date(clock())
    _pay_and_notify(request, engine, clock, gateways, "wechat", 10000)
    clock.advance(days=1, hours=2)
    wechat_sandbox.corrupt_next_download()
    with pytest.raises(GatewayError, match="HASH_MISMATCH"):
        gateways["wechat"].statement(day)
