"""A stored bill (billing/bill_records.py) as the BillDocument its page and PDF show: the holder
masked, the lines as billed, the account's balance from the ledger.

The bill keeps no reads of its own (the run reads the month's freezes and stores only the energy),
so ``bill_document`` lists none; ``explained_document`` (the resident's bill page and PDF) finds the
reads at the period's freezes and adds the tier standing and the forecast (``billing.bill_explained``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlmodel import Session

from billing import bill_explained
from billing.accounts import Account
from billing.bill_records import Bill
from billing.bill_status import bill_statuses, position
from billing import late_fee_posting
from billing.bills import LATE_FEE, lines_of
from billing.clock import beijing_date
from billing.privacy import mask_name
from billing.tariff_files import ANNUAL
from portal.bill_document import Balance, BillDocument, DocumentLine, ReadUsed, TierStanding


def bill_lines(session: Session, bill_id: int) -> tuple[DocumentLine, ...]:
    """The bill's lines; a late fee's line notes the number of the overdue bill it was charged on."""
    rows = lines_of(session, bill_id)
    overdue = late_fee_posting.overdue_bill_id(session, bill_id) if any(row.kind == LATE_FEE for row in rows) else None
    note = (session.get(Bill, overdue).number or "") if overdue else ""
    return tuple(DocumentLine(kind=row.kind, amount_fen=row.amount_fen, wh=row.energy_wh,
                              price_millifen_per_kwh=row.unit_price_millifen_per_kwh,
                              note=note if row.kind == LATE_FEE else "") for row in rows)


def balance(session: Session, account_id: int, today: date) -> Balance:
    """The account's balance now, and how many days its oldest unpaid bill is overdue."""
    overdue = max((status.overdue_days for status in bill_statuses(session, on=today, account_id=account_id).values()),
                  default=0)
    return Balance(position(session, account_id).balance_fen, overdue)


def bill_document(session: Session, bill: Bill, today: date) -> BillDocument:
    """``bill`` in any state; a held bill (not issued yet) is dated by the run that made it."""
    account = session.get(Account, bill.account_id)
    return BillDocument(
        number=bill.number or "", account_no=account.account_no, holder_masked=mask_name(account.holder_name),
        address=account.address, period_start=bill.period_start, period_end=bill.period_end,
        issue_date=bill.issue_date or beijing_date(bill.created_at), due_date=bill.due_date,
        lines=bill_lines(session, bill.id), reads=(), reads_kept=False, balance=balance(session, account.id, today),
        state=bill.state)


def explained_document(session: Session, bill: Bill, today: date) -> BillDocument:
    """The bill as its resident reads it: ``bill_document`` with the reads its period started and
    ended on, where the tier year stands after it and the forecast of the period now running."""
    reads = tuple(ReadUsed(read.on, read.meter_no, read.register_wh, read.source)
                  for read in bill_explained.reads_used(session, bill))
    tiers = bill_explained.tier_standing(session, bill)
    ahead = bill_explained.forecast(session, bill.account_id, on=today)
    return replace(
        bill_document(session, bill, today), reads=reads, reads_kept=True,
        tiers=None if tiers is None else TierStanding(tiers.used_wh, tiers.tier, tiers.left_in_tier_wh,
                                                      yearly=tiers.period == ANNUAL, thresholds_wh=tiers.thresholds_wh),
        forecast=ahead)
