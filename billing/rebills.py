"""Rebilling at the desk: after a cancelled bill's reads were corrected, a new bill for the same
month from the reads as they stand now (``bill_drafts.make``, the bill run's own pricing), issued
through ``bills.rebill`` so it names the bill it replaces.

The cancelled bill's carried estimate differences move to the rebill: they were charged on the
cancelled bill only, so the new bill carries them again instead of losing them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from sqlalchemy import update
from sqlmodel import Session

from billing import bills
from billing.accounts import Account
from billing.bill_drafts import HoldRules, make
from billing.bill_records import CANCELLED, Bill
from billing.clock import beijing_date
from billing.reads import EstimateCarry
from billing.tariff_files import Tariff, shipped_tariffs


def rebill_from_reads(session: Session, cancelled_bill_id: int, *, staff_id: int, now: datetime,
                      tariffs: Mapping[str, Tariff] | None = None) -> Bill:
    """The cancelled bill's month billed again from the current reads and issued at once: staff
    decided it, so the run's hold rules do not hold it.  Raises a ``BillingError`` naming the field
    when it cannot be billed (a read still missing)."""
    old = bills.locked(session, cancelled_bill_id)  # before anything is read: a second desk waits here
    if old.state != CANCELLED:
        raise bills.BillNotAllowed(f"bill {old.number or old.id} is {old.state}: cancel it before rebilling",
                                   field="state")
    start = old.period_start.replace(day=1)
    after = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    carries = update(EstimateCarry).where(EstimateCarry.carried_on_bill_id == old.id)
    session.execute(carries.values(carried_on_bill_id=None))
    made = make(session, session.get(Account, old.account_id), start, after, issue_on=beijing_date(now), rules=HoldRules(),
                tariffs=tariffs or shipped_tariffs())
    bill = bills.rebill(session, old.id, made.draft, staff_id=staff_id, now=now)
    if made.carry_ids:
        session.execute(update(EstimateCarry).where(EstimateCarry.id.in_(made.carry_ids))
                        .values(carried_on_bill_id=bill.id))
    return bill

