"""``payments sync``: lost notifications are found by querying, expired orders are closed, and
sync never credits twice next to live notifications."""

import random
import threading
from datetime import timedelta

import pytest
from sqlmodel import func, select

from billing.db import read_session
from billing.ledger import Transfer
from payments.sync import sync
from tests.payment_helpers import acknowledged, balance, new_account, order, phone, start_payment
from tests.threads import Threads

CHANNELS = ("wechat", "alipay")


def test_dropped_notifications_are_recovered_by_sync(request, engine, clock, app, gateways):
    rng = random.Random(7)
    placed = []
    for n in range(40):
        channel = CHANNELS[n % 2]
        account = new_account(engine, clock)
        amount = rng.randint(100, 50000)
        started = start_payment(engine, gateways[channel], account, amount, clock)
        device = phone(request, channel)
        txn = device.pay(started)
        placed.append((account, amount, started, device, txn))
    dropped = set(rng.sample(range(40), 4))  # 10 % never arrive
    for n, (_, _, started, device, txn) in enumerate(placed):
        if n not in dropped:
            assert acknowledged(device.channel, device.deliver(device.notification(started.out_trade_no, txn)))
    assert sum(1 for account, *_ in placed if balance(engine, account)) == 36
    clock.advance(minutes=6)
    summary = sync(engine, gateways, now=clock(), older_than=timedelta(minutes=5))
    assert (summary.checked, summary.outcomes, summary.errors) == (4, {"credited": 4}, [])
    for account, amount, started, _, _ in placed:
        assert balance(engine, account) == amount
        assert order(engine, started.out_trade_no).state == "paid"
    assert sync(engine, gateways, now=clock(), older_than=timedelta(minutes=5)).checked == 0


@pytest.mark.parametrize("channel", CHANNELS)
def test_expired_orders_are_closed_at_the_channel_and_here(request, engine, clock, app, gateways, channel):
    account = new_account(engine, clock)
    started = start_payment(engine, gateways[channel], account, 1000, clock)
    clock.advance(minutes=10)
    assert sync(engine, gateways, now=clock(), older_than=timedelta(minutes=5)).outcomes == {"pending": 1}
    assert order(engine, started.out_trade_no).state == "paying"  # not expired yet: keep waiting
    clock.advance(minutes=25)
    summary = sync(engine, gateways, now=clock(), older_than=timedelta(minutes=5))
    assert summary.closed == 1
    assert order(engine, started.out_trade_no).state == "closed"
    assert gateways[channel].query(started.out_trade_no).status in ("closed", "pending")


def test_sync_and_a_late_notification_credit_once(request, engine, clock, app, gateways):
    account = new_account(engine, clock)
    started = start_payment(engine, gateways["wechat"], account, 2500, clock)
    device = phone(request, "wechat")
    txn = device.pay(started)
    clock.advance(minutes=6)
    summary = sync(engine, gateways, now=clock(), older_than=timedelta(minutes=5))
    assert (summary.checked, summary.outcomes, summary.errors) == (1, {"credited": 1}, [])
    assert acknowledged("wechat", device.deliver(device.notification(started.out_trade_no, txn)))
    assert balance(engine, account) == 2500
    with read_session(engine) as db:
        assert db.exec(select(func.count()).select_from(Transfer)).one() == 1


def test_sync_running_next_to_a_flood_of_notifications_credits_each_order_once(request, engine, clock, app, gateways):
    placed = []
    for n in range(60):
        channel = CHANNELS[n % 2]
        account = new_account(engine, clock)
        started = start_payment(engine, gateways[channel], account, 1000 + n, clock)
        device = phone(request, channel)
        placed.append((account, 1000 + n, device, device.notification(started.out_trade_no, device.pay(started))))
    clock.advance(minutes=6)
    stop, summaries = threading.Event(), []

    def keep_syncing():
        while not stop.is_set():
            summaries.append(sync(engine, gateways, now=clock(), older_than=timedelta(minutes=5)))

    def deliver(part):
        for _, _, device, delivery in part:  # signed when sent, as the channel does: six minutes after paying
            assert acknowledged(device.channel, device.deliver(delivery.again()))

    syncers, senders = Threads(), Threads()
    for _ in range(2):
        syncers.start(keep_syncing)
    for n in range(6):
        senders.start(deliver, placed[n::6])
    try:
        senders.join()
    finally:
        stop.set()
        syncers.join()
    assert summaries and [summary.errors for summary in summaries] == [[] for _ in summaries]
    outcomes = {outcome for summary in summaries for outcome in summary.outcomes}
    assert outcomes <= {"credited", "exists"}  # sync either took the money first or found it taken
    assert sum(summary.outcomes.get("credited", 0) for summary in summaries) <= 60
    assert [balance(engine, account) for account, *_ in placed] == [amount for _, amount, *_ in placed]
    with read_session(engine) as db:
        assert db.exec(select(func.count()).select_from(Transfer)).one() == 60
