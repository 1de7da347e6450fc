"""Overdue bills, payments through the payment path, and what the late-fee tables hold, for the
late-fee posting and waiver tests."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, select

from billing import late_fee_posting, late_fees, ledger
from billing.bill_records import ISSUED, Allocation, Bill
from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.late_fee_posting import LateFeePosting
from payments.settlement import credit_account


def pay(engine, clock, account, fen: int) -> None:
    """A counter payment through ``credit_account``, the path every channel's money takes."""
    with unit_of_work(engine) as db:
        credit_account(db, key=f"counter:test:{uuid.uuid4().hex[:12]}", source="clearing:counter", account=account,
                       amount_fen=fen, code="payment", channel="counter", out_trade_no="test", now=clock())


def post_late_fees(engine, clock, accounts, on: date | None = None) -> int:
    """The fen ``post_late_fees`` posted for the accounts."""
    with unit_of_work(engine) as db:
        posted = late_fee_posting.post_late_fees(db, [account.id for account in accounts],
                                                 on=on or beijing_date(clock()), now=clock())
    return sum(accrual.unposted_fen for accrual in posted)


def fee_bills(engine, bill) -> list[Bill]:
    """Every fee bill of ``bill`` (issued or cancelled), oldest first."""
    with read_session(engine) as db:
        return list(db.execute(select(Bill).join(LateFeePosting, LateFeePosting.fee_bill_id == Bill.id)
                               .where(LateFeePosting.bill_id == bill.id).order_by(Bill.id)).scalars())


def standing_fee(engine, bill) -> int:
    return sum(fee.total_fen for fee in fee_bills(engine, bill) if fee.state == ISSUED)


def accrued_posted(engine, bill) -> int:
    with read_session(engine) as db:
        return db.execute(select(func.coalesce(func.sum(LateFeePosting.accrued_fen), 0))
                          .where(LateFeePosting.bill_id == bill.id)).scalar()


def expected_fee(engine, bill, category: str, on: date) -> int:
    """The fee computed here from the bill's allocation slices with ``late_fees.late_fee`` alone:
    each slice's exact parts, the unpaid rest to ``on``, rounded once, at least 1 元."""
    with read_session(engine) as db:
        rows = db.execute(select(Allocation.amount_fen, Allocation.paid_on).where(Allocation.bill_id == bill.id)).all()
    exact, paid = 0, 0
    for fen, paid_on in rows:
        paid += fen
        until = min(paid_on, on)
        if until > bill.due_date:
            exact += late_fees.late_fee(category, abs(fen), bill.due_date, until).exact_millifen * (1 if fen > 0 else -1)
    if bill.total_fen - paid > 0 and on > bill.due_date:
        exact += late_fees.late_fee(category, bill.total_fen - paid, bill.due_date, on).exact_millifen
    return max((exact + 500) // 1000, 100) if exact > 0 else 0


def balance(engine, code: str) -> int:
    with read_session(engine) as db:
        return ledger.balance_fen(db, code)
