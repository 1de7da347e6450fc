"""The daily report per channel: the ledger's day beside the statement's, and what reaches the bank."""

from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from payments import fees
from payments.daily_report import daily_report
from tests.payment_helpers import acknowledged, new_account, phone, refund_held_money, start_payment


def test_the_day_of_a_channel_from_the_ledger_agrees_with_its_statement(request, engine, clock, app, gateways,
                                                                         wechat_sandbox, held):
    day = beijing_date(clock())
    account = new_account(engine, clock)
    started = start_payment(engine, gateways["wechat"], account, 10000, clock)
    device = phone(request, "wechat")
    assert acknowledged("wechat", device.deliver(device.notification(started.out_trade_no, device.pay(started))))
    refund_held_money(engine, clock, gateways, wechat_sandbox)  # the 30.01 held by ``held`` goes back
    with read_session(engine) as db:
        (before,) = [line for line in daily_report(db, day) if line.channel == "wechat"]
    assert (before.count, before.gross_fen, before.held_fen, before.refunds, before.refunded_fen) == (
        2, 13001, 3001, 1, 3001)
    assert (before.fee_fen, before.net_fen, before.settles_fen) == (0, 10000, None)  # no statement yet
    clock.advance(days=1, hours=2)
    with unit_of_work(engine) as db:
        fees.book_statement_fees(db, "wechat", day, gateways["wechat"].statement(day), now=clock())
    with read_session(engine) as db:
        wechat, alipay, counter = daily_report(db, day)
    # fees: 0.60000 + 0.18006 charged, 0.18006 given back with the refund: 0.60 booked
    assert (wechat.fee_fen, wechat.fees.rounding_millifen, wechat.net_fen) == (60, 0, 13001 - 3001 - 60)
    assert (wechat.fees.statement_lines, wechat.settles_fen, wechat.difference_fen) == (3, 9940, 0)
    assert (alipay.count, alipay.gross_fen, alipay.settles_fen, counter.gross_fen) == (0, 0, None, 0)
