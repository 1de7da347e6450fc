"""Refunds: four eyes, refundable limits, idempotent by refund number, reversed only when confirmed."""

from datetime import timedelta

import pytest
from sqlmodel import select

from billing.audit import AuditEntry
from billing.db import read_session, unit_of_work
from billing.errors import PermissionDenied
from billing.ledger import Transfer
from billing.staff import add_staff
from payments import refunds
from payments.errors import RefundNotAllowed
from payments.orders import ChannelPayment
from payments.refund_approval import decide_refund
from payments.refunds import Refund
from payments.sync import submit_refund, sync
from tests.payment_helpers import acknowledged, balance, new_account, order, phone, start_payment


@pytest.fixture
def staff(engine):
    with unit_of_work(engine) as db:
        return {name: add_staff(db, username=name, name=name, password="pw", roles=roles).id
                for name, roles in (("cashier", ["cashier"]), ("finance", ["finance"]), ("finance2", ["finance"]))}


def _paid(request, engine, clock, gateways, channel, amount=5000, payers=("phone-a",)):
    account = new_account(engine, clock)
    started = start_payment(engine, gateways[channel], account, amount, clock)
    device = phone(request, channel)
    for payer in payers:
        txn = device.pay(started, payer)
        assert acknowledged(channel, device.deliver(device.notification(started.out_trade_no, txn)))
    return account, started, device


def _payment(engine, txn: str) -> ChannelPayment:
    with read_session(engine) as db:
        return db.exec(select(ChannelPayment).where(ChannelPayment.channel_txn_id == txn)).one()


def _refund(engine) -> Refund:
    with read_session(engine) as db:
        return db.exec(select(Refund)).one()


def _approve(engine, clock, refund, staff_id):
    with unit_of_work(engine) as db:
        refunds.decide(db, db.get(Refund, refund.id), staff_id=staff_id, approve=True, now=clock())


def test_duplicate_payment_refund_confirmed_by_notification(request, engine, clock, app, gateways, staff, wechat_sandbox):
    wechat_sandbox.auto_notify = True  # the refund notification comes back by itself
    account, started, _ = _paid(request, engine, clock, gateways, "wechat", payers=("phone-a", "phone-b"))
    assert balance(engine, account) == 10000
    proposed = _refund(engine)
    _approve(engine, clock, proposed, staff["finance"])
    submitted = submit_refund(engine, gateways, proposed.refund_no, now=clock())
    # The sandbox confirms within a millisecond, so its notification may beat our own bookkeeping.
    assert submitted.state in ("submitted", "succeeded")
    assert wechat_sandbox.wait_idle(10)
    assert _refund(engine).state == "succeeded"
    assert balance(engine, account) == 5000
    with read_session(engine) as db:
        assert db.exec(select(Transfer.key).where(Transfer.code == "refund")).all() == [f"refund:{proposed.refund_no}"]
        actions = db.exec(select(AuditEntry.action)).all()
    assert "approve_refund" in actions


def test_staff_refund_confirmed_by_sync_and_idempotent_by_number(request, engine, clock, app, gateways, staff,
                                                                  alipay_sandbox):
    account, started, _ = _paid(request, engine, clock, gateways, "alipay", amount=8000)
    payment = _payment(engine, order(engine, started.out_trade_no).channel_txn_id)
    with unit_of_work(engine) as db:
        requested = refunds.request(db, staff_id=staff["cashier"], payment=payment, amount_fen=3000,
                                    reason=refunds.ACCOUNT_CLOSURE, note="销户", now=clock())
    _approve(engine, clock, requested, staff["finance"])
    submit_refund(engine, gateways, requested.refund_no, now=clock())
    submit_refund(engine, gateways, requested.refund_no, now=clock())  # a retry: same refund number
    assert len(alipay_sandbox.refunds) == 1
    assert balance(engine, account) == 8000  # accepted is not confirmed
    sync(engine, gateways, now=clock(), older_than=timedelta(minutes=5))
    assert _refund(engine).state == "succeeded"
    assert balance(engine, account) == 5000


def test_four_eyes_and_limits(request, engine, clock, app, gateways, staff):
    account, started, _ = _paid(request, engine, clock, gateways, "wechat", amount=5000)
    payment = _payment(engine, order(engine, started.out_trade_no).channel_txn_id)
    with unit_of_work(engine) as db:
        requested = refunds.request(db, staff_id=staff["finance"], payment=payment, amount_fen=2000,
                                    reason=refunds.OVERPAYMENT, note="", now=clock())
    with pytest.raises(PermissionDenied), unit_of_work(engine) as db:
        refunds.decide(db, db.get(Refund, requested.id), staff_id=staff["finance"], approve=True, now=clock())
    with pytest.raises(RefundNotAllowed), unit_of_work(engine) as db:  # 2000 + 3500 > 5000
        refunds.request(db, staff_id=staff["cashier"], payment=payment, amount_fen=3500, reason=refunds.OVERPAYMENT,
                        note="", now=clock())
    clock.advance(days=366)
    with pytest.raises(RefundNotAllowed), unit_of_work(engine) as db:
        refunds.request(db, staff_id=staff["cashier"], payment=payment, amount_fen=100, reason=refunds.OVERPAYMENT,
                        note="", now=clock())


def test_refund_the_channel_never_received_is_sent_again_by_sync(request, engine, clock, app, gateways, staff,
                                                                   wechat_sandbox):
    account, started, _ = _paid(request, engine, clock, gateways, "wechat", amount=4000)
    payment = _payment(engine, order(engine, started.out_trade_no).channel_txn_id)
    with unit_of_work(engine) as db:
        requested = refunds.request(db, staff_id=staff["cashier"], payment=payment, amount_fen=4000,
                                    reason=refunds.OVERPAYMENT, note="", now=clock())
        refunds.decide(db, db.get(Refund, requested.id), staff_id=staff["finance"], approve=True, now=clock())
        refunds.mark_submitted(db, db.get(Refund, requested.id), clock())  # then the process died
    assert wechat_sandbox.refunds == {}
    sync(engine, gateways, now=clock(), older_than=timedelta(minutes=5))  # unknown there: sent again
    assert list(wechat_sandbox.refunds) == [requested.refund_no]
    assert wechat_sandbox.wait_idle(10)
    sync(engine, gateways, now=clock(), older_than=timedelta(minutes=5))
    assert _refund(engine).state == "succeeded" and balance(engine, account) == 0


def test_approving_a_refund_for_a_channel_not_configured_here_changes_nothing(request, engine, clock, app, gateways,
                                                                             staff):
    account, started, _ = _paid(request, engine, clock, gateways, "alipay", amount=3000)
    payment = _payment(engine, order(engine, started.out_trade_no).channel_txn_id)
    with unit_of_work(engine) as db:
        requested = refunds.request(db, staff_id=staff["cashier"], payment=payment, amount_fen=1000,
                                    reason=refunds.OVERPAYMENT, note="", now=clock())
    with pytest.raises(RefundNotAllowed):
        decide_refund(engine, {"wechat": gateways["wechat"]}, requested.refund_no, staff_id=staff["finance"],
                      approve=True, now=clock())
    assert _refund(engine).state == "proposed"
    approved = decide_refund(engine, gateways, requested.refund_no, staff_id=staff["finance"], approve=True, now=clock())
    assert approved.state == "submitted"  # Alipay accepts; its refund query confirms
    assert balance(engine, account) == 3000
