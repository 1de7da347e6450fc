"""Payments end to end through the sandbox gateways, the real SDKs and our HTTP callbacks:
credited once, never on a forgery, inconsistent money held for staff."""

from datetime import timedelta

import pytest
from sqlmodel import select

from billing import events
from billing.db import read_session, unit_of_work
from billing.events import Event
from billing.incidents import Incident
from billing.ledger import Transfer
from payments.orders import ChannelPayment, create_order
from payments.refunds import Refund
from tests.payment_helpers import acknowledged, balance, new_account, order, phone, start_payment

CHANNELS = ("wechat", "alipay")
SIGNATURE_FORGERIES = [
    *(("wechat", forge) for forge in ("bad_signature", "signtest", "stale_timestamp", "unknown_serial",
                                      "tampered_amount", "wrong_key")),
    *(("alipay", forge) for forge in ("bad_signature", "tampered_amount", "wrong_key")),
]


@pytest.fixture(params=CHANNELS)
def channel(request):
    return request.param


@pytest.fixture
def paid(request, engine, clock, app, gateways, channel):
    """An account, its prepayment order of 123.45 元, and the channel's transaction id after paying."""
    account = new_account(engine, clock)
    placed = start_payment(engine, gateways[channel], account, 12345, clock)
    device = phone(request, channel)
    txn = device.pay(placed)
    return account, placed, device, txn


def test_notification_credits_the_balance_once(engine, paid, channel):
    account, placed, device, txn = paid
    delivery = device.notification(placed.out_trade_no, txn)
    for _ in range(3):
        assert acknowledged(channel, device.deliver(delivery))
    assert balance(engine, account) == 12345
    settled = order(engine, placed.out_trade_no)
    assert (settled.state, settled.channel_txn_id) == ("paid", txn)
    with read_session(engine) as db:
        assert db.exec(select(Transfer.key)).all() == [f"pay:{channel}:{txn}"]
        posted = db.exec(select(Event).where(Event.kind == events.PAYMENT_POSTED)).one()
        assert (posted.account_id, posted.data["amount_fen"], posted.data["balance_fen"]) == (account.id, 12345, 12345)


@pytest.mark.parametrize(("channel", "forge"), SIGNATURE_FORGERIES, indirect=["channel"])
def test_forged_notifications_change_nothing(engine, paid, channel, forge):
    account, placed, device, txn = paid
    attempt = device.deliver(device.notification(placed.out_trade_no, txn, forge=forge))
    assert not acknowledged(channel, attempt)
    assert balance(engine, account) == 0
    assert order(engine, placed.out_trade_no).state == "paying"
    with read_session(engine) as db:
        assert db.exec(select(Incident)).all() == [] and db.exec(select(ChannelPayment)).all() == []


@pytest.mark.parametrize("forge", ["unknown_order", "wrong_appid"])
def test_verified_but_inconsistent_notifications_are_held_for_staff(engine, paid, channel, forge):
    account, placed, device, txn = paid
    delivery = device.notification(placed.out_trade_no, txn, forge=forge)
    assert acknowledged(channel, device.deliver(delivery))  # taken: the channel must stop resending
    assert acknowledged(channel, device.deliver(delivery))
    assert balance(engine, account) == 0
    with read_session(engine) as db:
        incident = db.exec(select(Incident)).one()  # the repeat did not open a second one
        assert incident.kind == {"unknown_order": "unknown_order", "wrong_appid": "wrong_merchant"}[forge]
        # our money we cannot place waits in suspense; another merchant's is not ours to book
        held = {"unknown_order": ["held"], "wrong_appid": []}[forge]
        assert [key.split(":")[:2] for key in db.exec(select(Transfer.key))] == [[h, channel] for h in held]


def test_different_amount_is_held(request, engine, clock, app, gateways, channel):
    account = new_account(engine, clock)
    with unit_of_work(engine) as db:
        placed = create_order(db, channel=channel, scene="h5", purpose="prepay", lines=[(account, 10000)],
                              description="电费预存", now=clock(), ttl=timedelta(minutes=30))
    device = phone(request, channel)
    # The channel took 100.01 for our 100.00 order (a tampered checkout, say): verified, but wrong.
    device.sandbox.register_order(placed.out_trade_no, 10001, gateways[channel].config.notify_url)
    txn = device.pay(placed)
    assert acknowledged(channel, device.deliver(device.notification(placed.out_trade_no, txn)))
    assert balance(engine, account) == 0
    with read_session(engine) as db:
        assert db.exec(select(Incident.kind)).all() == ["amount_mismatch"]
    assert order(engine, placed.out_trade_no).state == "created"


def test_second_payment_of_one_order_is_credited_and_offered_for_refund(request, engine, clock, app, gateways):
    account = new_account(engine, clock)
    placed = start_payment(engine, gateways["wechat"], account, 5000, clock)
    device = phone(request, "wechat")
    first, second = device.pay(placed, "phone-a"), device.pay(placed, "phone-b")
    assert first != second
    for txn in (second, first, second):  # out of order and repeated
        assert acknowledged("wechat", device.deliver(device.notification(placed.out_trade_no, txn)))
    assert balance(engine, account) == 10000
    with read_session(engine) as db:
        assert sorted(db.exec(select(ChannelPayment.outcome)).all()) == ["credited", "duplicate"]
        assert db.exec(select(Incident.kind)).all() == ["duplicate_payment"]
        refund = db.exec(select(Refund)).one()
        assert (refund.state, refund.amount_fen, refund.reason) == ("proposed", 5000, "duplicate_payment")
