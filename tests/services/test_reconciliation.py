"""对账 against the sandboxes: a day of payments with one of every difference the channels can
produce, the statement downloaded and matched, the 长款 healed by query + settle, reruns idempotent."""

import json
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from billing.clock import BEIJING, beijing_date
from billing.db import read_session, unit_of_work
from billing.ledger import Transfer
from billing.staff import add_staff
from payments import reconciliation, refunds
from payments.orders import CLOSED, get_order, transition
from payments.reconciliation import StatementNotYet
from payments.reconciliation_records import Difference, Statement, StatementEntry
from payments.refunds import Refund
from payments.sync import submit_refund, sync
from tests.payment_helpers import acknowledged, balance, booked_without_the_channel, new_account, phone, start_payment


def _paid(request, engine, clock, gateways, channel, amount, *, notify=True):
    account = new_account(engine, clock)
    started = start_payment(engine, gateways[channel], account, amount, clock)
    device = phone(request, channel)
    txn = device.pay(started)
    if notify:
        assert acknowledged(channel, device.deliver(device.notification(started.out_trade_no, txn)))
    return account, started, txn


def _differences(engine):
    with read_session(engine) as db:
        return {(d.kind, d.ref): d for d in db.execute(select(Difference)).scalars()}


def _counts(engine):
    with read_session(engine) as db:
        return tuple(db.execute(select(func.count()).select_from(table)).scalar()
                     for table in (Statement, StatementEntry, Difference, Transfer))


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
def test_a_sandbox_day_is_matched_and_every_difference_classified(request, engine, clock, app, gateways, channel):
    day = beijing_date(clock())
    gateway = gateways[channel]
    _, matched, matched_txn = _paid(request, engine, clock, gateways, channel, 10000)
    lost_account, lost, lost_txn = _paid(request, engine, clock, gateways, channel, 2550, notify=False)
    closed_account, closed, closed_txn = _paid(request, engine, clock, gateways, channel, 1200, notify=False)
    with unit_of_work(engine) as db:
        transition(get_order(db, closed.out_trade_no, lock=True), CLOSED, clock())  # we gave up on it too early
    ghost_txn = booked_without_the_channel(engine, clock, gateways, channel, 700)
    gateway.refund("RF-NOT-OURS", out_trade_no=matched.out_trade_no, channel_txn_id=matched_txn, amount_fen=1000,
                   total_fen=10000, reason="test")  # a refund made in the channel's console, not through us

    with pytest.raises(StatementNotYet, match="published after"):
        reconciliation.reconcile(engine, gateway, channel, day, merchant=gateway.merchant, now=clock())
    assert _counts(engine)[:3] == (0, 0, 0)

    clock.advance(days=1)  # 10:00 Beijing the next day: published
    result = reconciliation.reconcile(engine, gateway, channel, day, merchant=gateway.merchant, now=clock())
    found = _differences(engine)
    assert set(found) == {("channel_only", lost_txn), ("status_mismatch", closed_txn), ("ledger_only", ghost_txn),
                          ("channel_only", "RF-NOT-OURS")}
    assert (result.lines, result.matched, result.healed) == (4, 1, 2)
    # the lost notification and the early close were healed through settle, by the channel's transaction id
    assert {ref for (_, ref), d in found.items() if d.status == "healed"} == {lost_txn, closed_txn}
    assert (balance(engine, lost_account), balance(engine, closed_account)) == (2550, 1200)
    evidence = json.loads(found[("ledger_only", ghost_txn)].evidence)
    assert evidence["statement_line"] is None and [t["key"] for t in evidence["transfers"]] == [f"pay:{channel}:{ghost_txn}"]
    assert json.loads(found[("channel_only", lost_txn)].evidence)["statement_line"]["amount_fen"] == 2550

    before = _counts(engine)
    again = reconciliation.reconcile(engine, gateway, channel, day, merchant=gateway.merchant, now=clock())
    assert again.rerun and _counts(engine) == before
    assert (again.matched, again.healed, dict(again.found)) == (
        3, 2, {"channel_only": 2, "status_mismatch": 1, "ledger_only": 1})  # healed lines now match


def test_a_duplicate_payment_and_its_refund(request, engine, clock, app, gateways, wechat_sandbox):
    """One QR code paid twice: the second payment is a difference; the refund of it matches its line."""
    day = beijing_date(clock())
    _, placed, first = _paid(request, engine, clock, gateways, "wechat", 5000)
    second = wechat_sandbox.pay(placed.out_trade_no, notify=False)
    assert acknowledged("wechat", wechat_sandbox.deliver(wechat_sandbox.notification(second)))
    with unit_of_work(engine) as db:
        approver = add_staff(db, username="finance1", name="陈静", password="pw", roles=["finance"]).id
    with unit_of_work(engine) as db:
        refund = db.execute(select(Refund)).scalar_one()
        refunds.decide(db, refund, staff_id=approver, approve=True, now=clock())
    submit_refund(engine, gateways, refund.refund_no, now=clock())
    assert wechat_sandbox.wait_idle(10)
    sync(engine, gateways, now=clock(), older_than=timedelta(minutes=5))
    clock.advance(days=1)
    result = reconciliation.reconcile(engine, gateways["wechat"], "wechat", day, merchant=gateways["wechat"].merchant,
                                      now=clock())
    assert set(_differences(engine)) == {("duplicate_payment", second)}
    assert (result.lines, result.matched) == (3, 2)  # the first payment and the refund


def test_a_held_amount_is_an_amount_mismatch(engine, clock, app, gateways, held):
    _, placed, txn = held  # WeChat took 30.01 for our 30.00 order
    day = beijing_date(clock())
    clock.advance(days=1)
    reconciliation.reconcile(engine, gateways["wechat"], "wechat", day, merchant=gateways["wechat"].merchant, now=clock())
    (difference,) = _differences(engine).values()
    assert (difference.kind, difference.ref, difference.amount_fen, difference.status) == ("amount_mismatch", txn, 3001,
                                                                                           "open")
    assert json.loads(difference.evidence)["order"]["amount_fen"] == 3000


def test_money_held_for_an_order_we_do_not_know_stays_open(engine, clock, app, gateways, wechat_sandbox):
    """The channel took money for an order that is not ours: held as an incident, the line is a 长款.
    Querying the channel only repeats what the incident says (settle answers ``exists``): nothing was
    credited, so the difference is not healed but left for finance."""
    day = beijing_date(clock())
    wechat_sandbox.register_order("NOTOURS0000000001", 4200, gateways["wechat"].config.notify_url)
    txn = wechat_sandbox.pay("NOTOURS0000000001", notify=False)
    assert acknowledged("wechat", wechat_sandbox.deliver(wechat_sandbox.notification(txn)))
    clock.advance(days=1)
    result = reconciliation.reconcile(engine, gateways["wechat"], "wechat", day, merchant=gateways["wechat"].merchant,
                                      now=clock())
    (difference,) = _differences(engine).values()
    assert (difference.kind, difference.ref, difference.status) == ("channel_only", txn, "open")
    assert (result.found["channel_only"], result.healed) == (1, 0)


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
def test_a_payment_cleared_after_midnight_waits_and_one_left_off_is_ledger_only(request, engine, clock, app, gateways,
                                                                             channel):
    """The sandbox lists a payment of 23:59:50 on the next day's file, and leaves another off its files."""
    day = beijing_date(clock())
    sandbox = request.getfixturevalue(f"{channel}_sandbox")
    _, kept, kept_txn = _paid(request, engine, clock, gateways, channel, 900)
    sandbox.leave_off_statement(kept_txn if channel == "wechat" else kept.out_trade_no)
    clock.now = datetime.combine(day, time(23, 59, 50), tzinfo=BEIJING).astimezone(UTC)
    _, late, late_txn = _paid(request, engine, clock, gateways, channel, 1500)
    sandbox.clear_after_midnight(late_txn if channel == "wechat" else late.out_trade_no, clock() + timedelta(seconds=15))
    clock.advance(hours=11)  # 10:59:50 the next day
    first = reconciliation.reconcile(engine, gateways[channel], channel, day, merchant=gateways[channel].merchant,
                                     now=clock())
    assert (first.lines, first.waiting, set(_differences(engine))) == (0, 1, {("ledger_only", kept_txn)})
    clock.advance(days=1)
    second = reconciliation.reconcile(engine, gateways[channel], channel, day + timedelta(days=1),
                                      merchant=gateways[channel].merchant, now=clock())
    assert (second.lines, second.matched, second.waiting, sum(second.found.values())) == (1, 1, 0, 0)
    assert set(_differences(engine)) == {("ledger_only", kept_txn)}  # never flagged twice


def test_an_alipay_day_downloaded_again_later_is_a_rerun(request, engine, clock, app, gateways):
    """Alipay stamps each download with its export time: the same day's lines in another file are the
    same statement, not a second one."""
    day = beijing_date(clock())
    _paid(request, engine, clock, gateways, "alipay", 3300)
    clock.advance(days=1)
    first = reconciliation.reconcile(engine, gateways["alipay"], "alipay", day, merchant=gateways["alipay"].merchant,
                                     now=clock())
    before = _counts(engine)
    clock.advance(days=2)
    again = reconciliation.reconcile(engine, gateways["alipay"], "alipay", day, merchant=gateways["alipay"].merchant,
                                     now=clock())
    assert (first.rerun, again.rerun, again.matched, _counts(engine)) == (False, True, 1, before)
