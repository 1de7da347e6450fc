"""Channel fees booked a day at a time: the statement's fee lines summed exactly in millifen, the
day's total rounded half-up to the fen once, the rounding difference kept, posted exactly once."""

from datetime import date

import pytest
from sqlmodel import select

from billing import ledger
from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput
from billing.ledger import Transfer
from payments import fees
from payments.fees import FeeDay, FeesAlreadyBooked
from tests.payment_helpers import acknowledged, new_account, phone, start_payment

DAY = date(2026, 11, 30)


@pytest.mark.parametrize(("millifen", "fen"), [(0, 0), (499, 0), (500, 1), (1499, 1), (1500, 2), (51300, 51),
                                               (-499, 0), (-500, -1), (-24500, -25)])
def test_the_day_is_rounded_half_up_on_its_magnitude(millifen, fen):
    assert fees.round_to_fen(millifen) == fen


def _book(engine, clock, channel, millifen, day=DAY) -> FeeDay:
    with unit_of_work(engine) as db:
        return fees.book_fees(db, channel, day, millifen, now=clock())


def _books(engine, channel="wechat") -> tuple[int, int, list]:
    """(fee expense, clearing, fee transfers) of a channel."""
    with read_session(engine) as db:
        assert ledger.check_invariants(db) == []
        transfers = db.exec(select(Transfer.key, Transfer.amount_fen, Transfer.business_date)
                            .where(Transfer.code == "fee")).all()
        return (ledger.balance_fen(db, f"expense:fees:{channel}"), ledger.balance_fen(db, f"clearing:{channel}"),
                [tuple(t) for t in transfers])


def test_fees_are_posted_once_with_the_rounding_difference_kept(engine, clock):
    booked = _book(engine, clock, "wechat", 51300)  # 0.51300 元
    assert (booked.fee_millifen, booked.booked_fen, booked.rounding_millifen) == (51300, 51, -300)
    assert _book(engine, clock, "wechat", 51300).id == booked.id  # the same statement again: a no-op
    assert _books(engine) == (51, -51, [("fees:wechat:2026-11-30", 51, DAY)])
    with pytest.raises(FeesAlreadyBooked) as error:
        _book(engine, clock, "wechat", 51800)  # a different statement of a booked day
    assert error.value.field == "date" and "0.51300" in str(error.value) and "0.51800" in str(error.value)
    assert _books(engine) == (51, -51, [("fees:wechat:2026-11-30", 51, DAY)])
    with read_session(engine) as db:
        assert [(f.channel, f.fee_millifen) for f in db.exec(select(FeeDay))] == [("wechat", 51300)]


def test_a_day_of_returned_fees_goes_back_to_clearing_and_a_day_of_none_posts_nothing(engine, clock):
    assert _book(engine, clock, "alipay", -24500).booked_fen == -25
    assert _book(engine, clock, "alipay", 0, day=date(2026, 12, 1)).rounding_millifen == 0
    assert _books(engine, "alipay") == (-25, 25, [("fees:alipay:2026-11-30", 25, DAY)])
    with read_session(engine) as db:
        assert set(fees.booked_days(db, date(2026, 12, 1))) == {"alipay"}


@pytest.mark.parametrize(("channel", "millifen", "field"), [("counter", 100, "channel"), ("wechat", 1.5, "fee_millifen")])
def test_bad_input_is_refused_and_writes_nothing(engine, clock, channel, millifen, field):
    with pytest.raises(InvalidInput) as error:
        _book(engine, clock, channel, millifen)
    assert error.value.field == field
    with read_session(engine) as db:
        assert db.exec(select(FeeDay)).all() == [] and db.exec(select(Transfer)).all() == []


# 0.6 % of 100.00, 25.50 and 1.01 元: WeChat Pay states each fee exactly, Alipay rounds its 服务费 to the fen.
STATED = {"wechat": ((60000, 15300, 606), 76, 94), "alipay": ((60000, 15000, 1000), 76, 0)}


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
def test_a_downloaded_statement_books_its_exact_fees(request, engine, clock, app, gateways, channel):
    day = beijing_date(clock())
    for amount in (10000, 2550, 101):
        account = new_account(engine, clock)
        started = start_payment(engine, gateways[channel], account, amount, clock)
        device = phone(request, channel)
        assert acknowledged(channel, device.deliver(device.notification(started.out_trade_no, device.pay(started))))
    clock.advance(days=1, hours=2)  # the next day after 10:00 in Beijing: the statement is out
    lines = gateways[channel].statement(day)
    line_fees, booked_fen, rounding = STATED[channel]
    assert sorted(line.fee_millifen for line in lines) == sorted(line_fees)
    with unit_of_work(engine) as db:
        booked = fees.book_statement_fees(db, channel, day, lines, now=clock())
    assert (booked.fee_millifen, booked.booked_fen, booked.rounding_millifen) == (sum(line_fees), booked_fen, rounding)
    assert (booked.statement_lines, booked.statement_paid_fen, booked.statement_refunded_fen) == (3, 12651, 0)
    expense, clearing, _ = _books(engine, channel)
    assert (expense, clearing) == (booked_fen, 12651 - booked_fen)
