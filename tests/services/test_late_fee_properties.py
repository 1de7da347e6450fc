"""Hypothesis: whatever bills, payments (through the payment path), days passing and bill-run
postings an account goes through, the late fee posted on each bill equals the fee computed here
from its allocation slices with ``late_fees.late_fee`` alone, every fee bill is a late_fee line of
its own, and the ledger balances (checked after every test by conftest)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from billing import ledger
from billing.accounts import CATEGORIES
from billing.bill_records import Bill
from billing.bill_status import position
from billing.clock import FixedClock, beijing_date
from billing.db import read_session
from billing.late_fee_posting import LateFeePosting
from tests.bill_helpers import issue_bill, new_account
from tests.conftest import START
from tests.late_fee_helpers import accrued_posted, balance, expected_fee, pay, post_late_fees

EXAMPLES = {"sqlite": 20, "postgresql": 8}

steps = st.lists(st.one_of(
    st.tuples(st.just("bill"), st.integers(1, 90_000), st.integers(0, 30)),
    st.tuples(st.just("pay"), st.integers(1, 60_000)),
    st.tuples(st.just("days"), st.integers(1, 120)),
    st.tuples(st.just("run"), st.integers(0, 20)),
), min_size=1, max_size=12)


def test_posted_fees_equal_the_fees_of_the_allocation_slices(request, engine):
    @settings(max_examples=EXAMPLES[request.node.callspec.params["engine"]], deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(plan=steps, category=st.sampled_from(CATEGORIES))
    def run(plan, category):
        clock = FixedClock(START)
        account = new_account(engine, clock, category=category)
        for step in plan:
            _apply(engine, clock, account, step)
        today = beijing_date(clock())
        post_late_fees(engine, clock, [account])
        for bill in _overdue_bills(engine, account):
            assert accrued_posted(engine, bill) == expected_fee(engine, bill, category, today)
        with read_session(engine) as db:
            assert position(db, account.id).balance_fen == balance(engine, ledger.customer_code(account.account_no))

    run()


def _apply(engine, clock, account, step) -> None:
    kind, *args = step
    if kind == "bill":
        issue_bill(engine, clock, account, args[0], due_days=args[1])
    elif kind == "pay":
        pay(engine, clock, account, args[0])
    elif kind == "days":
        clock.advance(days=args[0])
    else:  # the bill run posts as of some day up to today
        post_late_fees(engine, clock, [account], on=max(beijing_date(clock()) - timedelta(days=args[0]), date(2026, 11, 27)))


def _overdue_bills(engine, account) -> list[Bill]:
    """The account's bills that are not fee bills."""
    with read_session(engine) as db:
        fee_bills = select(LateFeePosting.fee_bill_id)
        return list(db.execute(select(Bill).where(Bill.account_id == account.id, Bill.id.not_in(fee_bills))).scalars())
