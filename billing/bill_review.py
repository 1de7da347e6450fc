"""A reviewer's decision on a bill the bill run held (a review item of kind ``bill``).

- approve: the held bill is issued as it stands (numbered, posted, allocated, ``bill_issued``),
  due as many days after today as the run gave it after the run's day.
- cancel: the held bill is cancelled with a reason and the account is released from the run's
  ledger, so that the next run bills it again from the reads as they then are (after the reviewer
  corrected them in the read queue); the estimate differences it carried go back to waiting.

Both resolve the item and are audit-logged against ``review:<item id>`` (``bills`` audits the bill).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session

from billing import bills
from billing.bills import BillNotAllowed
from billing.audit import audit
from billing.bill_records import HELD, Bill
from billing.bill_run import BILL_REVIEW
from billing.bill_run_records import BillRunAccount
from billing.clock import beijing_date
from billing.errors import InvalidInput
from billing.reads import EstimateCarry
from billing.review import OPEN, RESOLVED, ReviewItem
from billing.review_actions import ItemNotOpen
from billing.review_queue import find_item

APPROVE, CANCEL = "approve", "cancel"


def approve(session: Session, item_id: int, *, staff_id: int, now: datetime, note: str = "") -> Bill:
    item, bill = _held(session, item_id)
    term = bill.due_date - beijing_date(bill.created_at)
    issued = bills.issue(session, bill.id, now=now, staff_id=staff_id, due_date=beijing_date(now) + term)
    _resolve(session, item, APPROVE, staff_id=staff_id, now=now, reason=note, bill=issued)
    return issued


def cancel(session: Session, item_id: int, *, staff_id: int, now: datetime, reason: str) -> Bill:
    item, bill = _held(session, item_id)
    cancelled = bills.cancel(session, bill.id, reason=reason, staff_id=staff_id, now=now)
    session.execute(delete(BillRunAccount).where(BillRunAccount.bill_id == bill.id))
    session.execute(update(EstimateCarry).where(EstimateCarry.carried_on_bill_id == bill.id)
                    .values(carried_on_bill_id=None))
    _resolve(session, item, CANCEL, staff_id=staff_id, now=now, reason=reason, bill=cancelled)
    return cancelled


def _held(session: Session, item_id: int) -> tuple[ReviewItem, Bill]:
    item = find_item(session, item_id, lock=True)
    if item.kind != BILL_REVIEW:
        raise InvalidInput("item", f"review item {item_id} is a {item.kind} item, not a held bill")
    if item.status != OPEN:
        raise ItemNotOpen(f"review item {item_id} is {item.status}")
    bill = session.get(Bill, item.details["bill_id"])
    if bill.state != HELD:  # issued or cancelled by another path: a stale page must not cancel an issued bill
        raise BillNotAllowed(f"bill {bill.number or bill.id} is {bill.state}, not held", field="state")
    return item, bill


def _resolve(session: Session, item: ReviewItem, action: str, *, staff_id: int, now: datetime, reason: str,
             bill: Bill) -> None:
    item.status, item.action, item.resolved_by, item.resolved_at = RESOLVED, action, staff_id, now
    item.reason = reason.strip()[:400]
    session.add(item)
    audit(session, staff_id=staff_id, action=f"review.{action}", target=f"review:{item.id}", at=now,
          after={"bill_id": bill.id, "state": bill.state, "number": bill.number, "reason": item.reason})
    session.flush()
