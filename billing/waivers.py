"""违约金减免 (late-fee waivers), four eyes: one staff member asks, another decides.

    pending -> approved | refused

A waiver names an overdue bill (or one of its fee bills) and an amount up to the late fee posted on it and still standing
(its issued fee bills, ``billing.late_fee_posting``), with a reason.  Approval cancels those fee
bills (``bills.cancel``: each reversed on the ledger, the account re-allocated) and, for a partial
waiver, issues one replacement fee bill of what is left, recorded under ``late-fee-waiver:<id>``
as accruing nothing: the fee stays posted in full for the accrual, so a bill run does not post the
waived part again.  Asking and deciding are audited; whoever asked cannot decide.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, func
from sqlmodel import Field, Session, SQLModel, select

from billing import bills, events, late_fee_posting
from billing.audit import audit
from billing.bill_records import Bill
from billing.errors import BillingError, InvalidInput, NotFound, PermissionDenied, require_text
from billing.late_fee_posting import LateFeePosting
from billing.money import MAX_FEN, require_fen
from billing.review_queue import MAX_ID

PENDING, APPROVED, REFUSED = "pending", "approved", "refused"
MAX_REASON = 400


class WaiverNotAllowed(BillingError):
    """The waiver's or the fee's state forbids it: nothing changed."""

    code = "waiver_not_allowed"


class Waiver(SQLModel, table=True):
    __tablename__ = "late_fee_waiver"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("state IN ('pending', 'approved', 'refused')", name="state"),
        CheckConstraint("decided_by IS NULL OR decided_by <> requested_by", name="four_eyes"),
    )

    id: int | None = Field(default=None, primary_key=True)
    bill_id: int = Field(foreign_key="bill.id", index=True)  # the overdue bill whose late fee is waived
    account_id: int = Field(foreign_key="account.id", index=True)
    amount_fen: int = Field(sa_type=BigInteger)
    reason: str = Field(max_length=MAX_REASON)
    state: str = Field(default=PENDING, max_length=10, index=True)
    requested_by: int = Field(foreign_key="staff_user.id")
    requested_at: datetime
    decided_by: int | None = Field(default=None, foreign_key="staff_user.id")
    decided_at: datetime | None = None


def standing_fee_fen(session: Session, bill_id: int) -> int:
    """The late fee posted on bill ``bill_id`` and not waived: the total of its issued fee bills."""
    return sum(fee.total_fen for fee in late_fee_posting.fee_bills(session, bill_id))


def request(session: Session, *, bill_id: int, amount_fen: int, reason: str, staff_id: int, now: datetime) -> Waiver:
    """Ask for ``amount_fen`` of a bill's late fee to be waived; one pending waiver per bill."""
    reason = require_text(reason, "waiver_reason", "a waiver's reason", MAX_REASON)
    if require_fen(amount_fen, "waiver_amount") <= 0 or amount_fen > MAX_FEN:
        raise InvalidInput("waiver_amount", "must be more than 0")
    bill = session.get(Bill, bill_id) if isinstance(bill_id, int) and 0 < bill_id <= MAX_ID else None
    if bill is None:
        raise NotFound(f"no bill {bill_id}", field="bill_id")
    bill = session.get(Bill, late_fee_posting.overdue_bill_id(session, bill.id) or bill.id)  # a fee bill: its bill's fee
    bill_id = bill.id
    standing = standing_fee_fen(session, bill_id)
    if amount_fen > standing:
        raise InvalidInput("waiver_amount", f"{amount_fen} fen is more than the late fee standing on the bill ({standing} fen)",
                           standing_fen=standing)
    if session.exec(select(Waiver.id).where(Waiver.bill_id == bill_id, Waiver.state == PENDING)).first() is not None:
        raise WaiverNotAllowed(f"bill {bill.number} already has a waiver waiting for a decision", field="bill_id")
    waiver = Waiver(bill_id=bill_id, account_id=bill.account_id, amount_fen=amount_fen, reason=reason,
                    requested_by=staff_id, requested_at=now)
    session.add(waiver)
    session.flush()
    audit(session, staff_id=staff_id, action="request_waiver", target=f"waiver:{waiver.id}", at=now,
          after=_snapshot(waiver))
    return waiver


def decide(session: Session, waiver_id: int, *, staff_id: int, approve: bool, now: datetime) -> Waiver:
    """Approve (reverse the waived fee) or refuse; whoever asked cannot decide."""
    waiver = (session.exec(select(Waiver).where(Waiver.id == waiver_id).with_for_update()).first()
              if 0 < waiver_id <= MAX_ID else None)
    if waiver is None:
        raise NotFound(f"no waiver {waiver_id}", field="waiver_id")
    if waiver.state != PENDING:
        raise WaiverNotAllowed(f"waiver {waiver.id} is {waiver.state}, not waiting for a decision", field="state")
    if waiver.requested_by == staff_id:
        raise PermissionDenied("a waiver needs a second staff member to decide it", field="approver")
    before = _snapshot(waiver)
    if approve:
        _reverse(session, waiver, staff_id=staff_id, now=now)
        events.emit(session, events.LATE_FEE_WAIVED, at=now, account_id=waiver.account_id, bill_id=waiver.bill_id,
                    waiver_id=waiver.id, amount_fen=waiver.amount_fen)
    waiver.state, waiver.decided_by, waiver.decided_at = (APPROVED if approve else REFUSED), staff_id, now
    session.add(waiver)
    session.flush()
    audit(session, staff_id=staff_id, action="approve_waiver" if approve else "refuse_waiver",
          target=f"waiver:{waiver.id}", at=now, before=before, after=_snapshot(waiver))
    return waiver


def _reverse(session: Session, waiver: Waiver, *, staff_id: int, now: datetime) -> None:
    """Cancel the bill's fee bills and issue one for what the waiver leaves standing."""
    fees = late_fee_posting.fee_bills(session, waiver.bill_id)
    standing = sum(fee.total_fen for fee in fees)
    if waiver.amount_fen > standing:
        raise WaiverNotAllowed(f"only {standing} fen of late fee stands on the bill now", field="waiver_amount")
    for fee in fees:
        bills.cancel(session, fee.id, reason=f"违约金减免 {waiver.id}: {waiver.reason}"[:MAX_REASON],
                     staff_id=staff_id, now=now)
    if standing > waiver.amount_fen:
        accrued_to = session.exec(select(func.max(LateFeePosting.accrued_to))
                                  .where(LateFeePosting.bill_id == waiver.bill_id)).one()
        late_fee_posting.post_fee_bill(session, waiver.bill_id, standing - waiver.amount_fen,
                                       key=f"late-fee-waiver:{waiver.id}", accrued_to=accrued_to, accrued_fen=0,
                                       now=now, staff_id=staff_id)


def pending(session: Session, limit: int = 200) -> list[Waiver]:
    return list(session.exec(select(Waiver).where(Waiver.state == PENDING).order_by(Waiver.id).limit(limit)))


def _snapshot(waiver: Waiver) -> dict:
    return {"state": waiver.state, "bill_id": waiver.bill_id, "amount_fen": waiver.amount_fen, "reason": waiver.reason}
