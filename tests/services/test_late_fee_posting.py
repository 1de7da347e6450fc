"""违约金 posted on the ledger: a payment completing an overdue bill posts its fee once, as a fee
bill of its own (revenue:late_fee); partial payments accrue slice by slice; the bill run's
``post_late_fees`` posts what accrued and not posted, once, and a crash leaves nothing behind."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from billing import bills, late_fee_posting, late_fees, ledger
from billing.bill_records import ISSUED, Bill, BillLine
from billing.bill_status import OVERDUE, PAID, bill_statuses
from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.events import Event
from billing.late_fee_posting import LateFeePosting
from tests.bill_helpers import issue_bill, new_account
from tests.late_fee_helpers import accrued_posted, balance, expected_fee, fee_bills, pay, post_late_fees
from tests.threads import Threads
from tests.payment_helpers import acknowledged, balance as payment_balance, phone, start_payment


def _overdue(engine, clock, fen: int = 100_000, *, days: int = 10, **fields):
    """An account and its bill, due in 20 days, now ``days`` days overdue."""
    account = new_account(engine, clock, **fields)
    bill = issue_bill(engine, clock, account, fen)
    clock.advance(days=20 + days)
    return account, bill


def _statuses(engine, clock, *bills_):
    with read_session(engine) as db:
        return [bill_statuses(db, on=beijing_date(clock()), bill_ids=[bill.id])[bill.id].state for bill in bills_]


def test_paying_an_overdue_bill_in_full_posts_its_fee_once_as_a_bill_of_its_own(engine, clock):
    account, bill = _overdue(engine, clock)  # 1000 元, 10 days at 1‰: 10 元
    pay(engine, clock, account, 100_000)
    (fee,) = fee_bills(engine, bill)
    assert (fee.total_fen, fee.state, fee.due_date) == (1000, ISSUED, beijing_date(clock()))
    assert (fee.period_start, fee.period_end) == (bill.period_start, bill.period_end)
    with read_session(engine) as db:
        line = db.execute(select(BillLine).where(BillLine.bill_id == fee.id)).scalar_one()
        assert (line.kind, line.amount_fen) == ("late_fee", 1000)
        issued = db.execute(select(func.count()).select_from(Event).where(Event.kind == "bill_issued")).scalar()
        told = db.execute(select(Event).where(Event.kind == "late_fee_posted")).scalar_one()
    assert issued == 2
    assert (told.account_id, told.data["bill_id"], told.data["fee_number"], told.data["amount_fen"]) == (
        account.id, bill.id, fee.number, 1000)
    assert balance(engine, ledger.customer_code(account.account_no)) == -1000
    assert balance(engine, "revenue:late_fee") == 1000
    assert _statuses(engine, clock, bill, fee) == [PAID, "unpaid"]
    pay(engine, clock, account, 5000)  # pays the fee; completes nothing overdue
    assert post_late_fees(engine, clock, [account]) == 0
    clock.advance(days=40)
    assert post_late_fees(engine, clock, [account]) == 0  # a fee bill accrues no fee of its own
    assert [f.id for f in fee_bills(engine, bill)] == [fee.id]
    assert _statuses(engine, clock, bill, fee) == [PAID, PAID]


def test_a_partial_payment_posts_nothing_until_the_final_one_posts_the_fee_of_each_slice(engine, clock):
    account, bill = _overdue(engine, clock, days=5)
    pay(engine, clock, account, 40_000)  # 400 元 paid 5 days late
    assert fee_bills(engine, bill) == []
    clock.advance(days=5)
    pay(engine, clock, account, 60_000)  # the rest, 10 days late
    (fee,) = fee_bills(engine, bill)
    assert fee.total_fen == (40_000 * 5 + 60_000 * 10) // 1000 == 800
    assert fee.total_fen == expected_fee(engine, bill, "residential", beijing_date(clock()))


def test_post_late_fees_posts_what_accrued_once_then_only_what_accrued_since(engine, clock):
    account, bill = _overdue(engine, clock, 50_000, days=3)  # 3 days at 1‰ of 500 元: 1.50 元
    other = new_account(engine, clock)  # nothing owed: nothing posted
    assert post_late_fees(engine, clock, [account, other]) == 150
    assert post_late_fees(engine, clock, [account, other]) == 0
    clock.advance(days=7)
    assert post_late_fees(engine, clock, [account]) == 350  # 10 days: 5 元, less the 1.50 posted
    assert post_late_fees(engine, clock, [account]) == 0
    assert [fee.total_fen for fee in fee_bills(engine, bill)] == [150, 350]
    assert accrued_posted(engine, bill) == expected_fee(engine, bill, "residential", beijing_date(clock())) == 500
    assert balance(engine, ledger.customer_code(other.account_no)) == 0
    pay(engine, clock, account, 50_500)  # the bill and both fees: nothing more to post
    assert _statuses(engine, clock, bill) == [PAID]
    assert post_late_fees(engine, clock, [account], on=beijing_date(clock()) + timedelta(days=30)) == 0


def test_a_fee_under_one_yuan_is_posted_as_one_yuan_for_the_bill_not_for_each_slice(engine, clock):
    account, bill = _overdue(engine, clock, 10_000, days=1)
    pay(engine, clock, account, 5_000)
    clock.advance(days=1)
    pay(engine, clock, account, 5_000)  # slices of 0.05 and 0.10 元 exact: one fee of 1 元
    assert [fee.total_fen for fee in fee_bills(engine, bill)] == [100]


def test_non_residential_cross_year_arrears_post_2_then_3_permille(engine, clock):
    account = new_account(engine, clock, category="non_residential")
    bill = issue_bill(engine, clock, account, 10_000, due=date(2026, 12, 20))
    clock.now = clock.now.replace(year=2027, month=1, day=5)
    assert post_late_fees(engine, clock, [account]) == 370 == late_fees.late_fee(
        "non_residential", 10_000, date(2026, 12, 20), date(2027, 1, 5)).late_fee_fen
    assert _statuses(engine, clock, bill) == [OVERDUE]


def test_bills_paid_on_time_held_or_not_yet_due_accrue_nothing(engine, clock):
    account = new_account(engine, clock)
    on_time = issue_bill(engine, clock, account, 10_000)
    pay(engine, clock, account, 10_000)
    issue_bill(engine, clock, account, 20_000, hold=True)
    clock.advance(days=60)
    issue_bill(engine, clock, account, 30_000)  # due in 20 days
    assert post_late_fees(engine, clock, [account]) == 0
    assert fee_bills(engine, on_time) == []


def test_a_crash_after_posting_leaves_no_fee_and_the_rerun_posts_it(engine, clock):
    account, bill = _overdue(engine, clock)
    with pytest.raises(RuntimeError), unit_of_work(engine) as db:
        late_fee_posting.post_late_fees(db, [account.id], on=beijing_date(clock()), now=clock())
        raise RuntimeError("killed before commit")
    assert fee_bills(engine, bill) == []
    assert post_late_fees(engine, clock, [account]) == 1000
    with read_session(engine) as db:
        assert db.execute(select(func.count()).select_from(LateFeePosting)).scalar() == 1


def test_a_fee_that_fails_to_post_never_fails_the_payment(engine, clock, monkeypatch, caplog):
    other = new_account(engine, clock)  # its fee is posted today, before this one's: it must not hide it
    issue_bill(engine, clock, other, 100_000)
    account, bill = _overdue(engine, clock)
    pay(engine, clock, other, 100_000)

    def broken(*args, **kwargs):
        raise RuntimeError("fee posting broke")

    monkeypatch.setattr(late_fee_posting, "post_fee_bill", broken)
    pay(engine, clock, account, 100_000)
    assert balance(engine, ledger.customer_code(account.account_no)) == 0
    assert fee_bills(engine, bill) == []
    assert f"late fee of account {account.id} left for the bill run: RuntimeError: fee posting broke" in caplog.text
    monkeypatch.undo()
    assert post_late_fees(engine, clock, [other, account]) == 1000  # the bill run catches up


def test_the_fee_bill_is_paid_after_the_bill_it_comes_from(engine, clock):
    account, bill = _overdue(engine, clock)
    post_late_fees(engine, clock, [account])
    pay(engine, clock, account, 50_000)  # half: goes to the older bill, not the fee
    (fee,) = fee_bills(engine, bill)
    assert _statuses(engine, clock, bill, fee) == [OVERDUE, "unpaid"]
    with read_session(engine) as db:
        assert db.execute(select(Bill.due_date).where(Bill.id == fee.id)).scalar() == beijing_date(clock())


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
def test_a_sandbox_channel_payment_of_an_overdue_bill_posts_its_fee_once(request, engine, clock, app, gateways,
                                                                         channel):
    account, bill = _overdue(engine, clock)
    placed = start_payment(engine, gateways[channel], account, 100_000, clock, purpose="arrears")
    device = phone(request, channel)
    txn = device.pay(placed)
    delivery = device.notification(placed.out_trade_no, txn)
    for _ in range(3):  # the channel resends: credited once, fee posted once
        assert acknowledged(channel, device.deliver(delivery))
    assert [fee.total_fen for fee in fee_bills(engine, bill)] == [1000]
    assert payment_balance(engine, account) == -1000
    assert _statuses(engine, clock, bill) == [PAID]


def test_a_payment_does_not_wait_for_a_bill_run_holding_the_bill_numbers(engine, clock):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite writers queue at BEGIN: a payment never finds the numbers locked mid-transaction")
    account, bill = _overdue(engine, clock)
    with unit_of_work(engine) as run:  # a bill run numbering bills of its chunk
        bills.numbers(run, beijing_date(clock()).year)
        pay(engine, clock, account, 100_000)  # another transaction: paid at once, the fee left for later
    assert balance(engine, ledger.customer_code(account.account_no)) == 0
    assert fee_bills(engine, bill) == []
    assert post_late_fees(engine, clock, [account]) == 1000


def test_a_payment_and_a_bill_run_at_once_post_the_fee_once(engine, clock):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite writers queue one at a time: nothing can interleave")
    accounts = [new_account(engine, clock) for _ in range(6)]
    for account in accounts:
        issue_bill(engine, clock, account, 100_000)
    clock.advance(days=30)  # 10 days overdue: 10 元 each
    threads = Threads()
    for account in accounts:
        threads.start(pay, engine, clock, account, 100_000)
    threads.start(post_late_fees, engine, clock, accounts)
    threads.join()
    post_late_fees(engine, clock, accounts)  # whatever a payment left, the next run posts
    with read_session(engine) as db:
        bill_ids = [db.execute(select(Bill.id).where(Bill.account_id == account.id).order_by(Bill.id)).scalars().first()
                    for account in accounts]
        rows = db.execute(select(LateFeePosting.bill_id, func.count(), func.sum(LateFeePosting.accrued_fen))
                          .group_by(LateFeePosting.bill_id)).all()
    assert sorted((bill_id, int(fen)) for bill_id, _, fen in rows) == sorted((bill_id, 1000) for bill_id in bill_ids)
