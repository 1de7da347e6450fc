"""Refunds: proposed (by the system for a duplicate payment, or by staff), approved by finance
(never by the person who asked), submitted to the channel under our refund number (the channel's
idempotency key: a retry reuses it), and confirmed by notification or query.

    proposed -> approved -> submitted -> succeeded | failed
    proposed -> rejected

The ledger moves only on confirmation: ``refund:<refund_no>`` debits the balance that held the
money (the customer's, a manager's float, or for held money the channel's suspense) and credits
the channel's clearing account.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import BigInteger, CheckConstraint, func
from sqlmodel import Field, Session, SQLModel, select

from billing import allocation, events, ledger
from billing.audit import audit
from billing.errors import InvalidInput, PermissionDenied
from billing.ledger import LedgerAccount, Posting, Transfer
from billing.money import require_fen
from payments.errors import RefundNotAllowed
from payments.gateways.base import REFUND_FAILED, REFUND_SUCCEEDED, RefundReport
from payments.orders import BULK, HELD, ChannelPayment, PaymentOrder, new_order_no, order_lines
from payments.reconciliation_records import close_refunded

PROPOSED, APPROVED, SUBMITTED, SUCCEEDED, FAILED, REJECTED = (
    "proposed", "approved", "submitted", "succeeded", "failed", "rejected",
)
DUPLICATE_PAYMENT, ACCOUNT_CLOSURE, OVERPAYMENT = "duplicate_payment", "account_closure", "overpayment"
REASONS = (DUPLICATE_PAYMENT, ACCOUNT_CLOSURE, OVERPAYMENT)
LIVE = (PROPOSED, APPROVED, SUBMITTED, SUCCEEDED)  # states that count against what is refundable
MAX_REFUNDS_PER_ORDER = 50
REFUND_WINDOW = timedelta(days=365)


class Refund(SQLModel, table=True):
    __tablename__ = "refund"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint(
            "state IN ('proposed', 'approved', 'submitted', 'succeeded', 'failed', 'rejected')", name="state"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    refund_no: str = Field(max_length=64, unique=True)
    channel: str = Field(max_length=10)
    order_id: int | None = Field(default=None, foreign_key="payment_order.id", index=True)
    channel_payment_id: int | None = Field(default=None, foreign_key="channel_payment.id")
    # suspense:<channel> for held money that never reached a balance ("" if held before suspense existed)
    debit_code: str = Field(max_length=64)
    amount_fen: int = Field(sa_type=BigInteger)
    reason: str = Field(max_length=20)
    note: str = Field(default="", max_length=200)
    state: str = Field(default=PROPOSED, max_length=10, index=True)
    requested_by: int | None = Field(default=None, foreign_key="staff_user.id")
    decided_by: int | None = Field(default=None, foreign_key="staff_user.id")
    requested_at: datetime
    decided_at: datetime | None = None
    submitted_at: datetime | None = None
    confirmed_at: datetime | None = None
    channel_refund_id: str = Field(default="", max_length=64)
    failure: str = Field(default="", max_length=200)


def refundable_fen(session: Session, payment: ChannelPayment) -> int:
    taken = session.exec(
        select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
            Refund.channel_payment_id == payment.id, Refund.state.in_(LIVE)
        )
    ).one()
    return payment.amount_fen - int(taken)  # PostgreSQL sums BIGINT as NUMERIC


def sending_back(session: Session, channel_payment_id: int) -> bool:
    """Whether a refund of the payment was approved (and perhaps sent or paid): the money is going back."""
    return session.exec(select(Refund.id).where(Refund.channel_payment_id == channel_payment_id,
                                                Refund.state.in_((APPROVED, SUBMITTED, SUCCEEDED)))).first() is not None


def propose(session: Session, *, payment: ChannelPayment, order: PaymentOrder | None, debit_code: str, amount_fen: int,
            reason: str, note: str, now: datetime, requested_by: int | None = None) -> Refund:
    require_fen(amount_fen)
    if reason not in REASONS:
        raise InvalidInput("reason", f"must be one of {', '.join(REASONS)}")
    if amount_fen <= 0 or amount_fen > refundable_fen(session, payment):
        raise RefundNotAllowed("amount exceeds what is left to refund on this payment", field="amount",
                               refundable_fen=refundable_fen(session, payment))
    if now - payment.paid_at > REFUND_WINDOW:
        raise RefundNotAllowed("payments older than one year cannot be refunded", field="out_trade_no")
    same_order = Refund.order_id == order.id if order else Refund.channel_payment_id == payment.id
    if session.exec(select(func.count()).where(same_order)).one() >= MAX_REFUNDS_PER_ORDER:
        raise RefundNotAllowed("an order takes at most 50 refunds", field="out_trade_no")
    refund = Refund(
        refund_no=new_order_no("RF", now), channel=payment.channel, order_id=order.id if order else None,
        channel_payment_id=payment.id,
        debit_code=debit_code, amount_fen=amount_fen, reason=reason, note=note[:200], requested_by=requested_by,
        requested_at=now,
    )
    session.add(refund)
    session.flush()
    return refund


def request(session: Session, *, staff_id: int, payment: ChannelPayment, amount_fen: int, reason: str, note: str,
            now: datetime) -> Refund:
    """Staff ask for a refund of (part of) a payment back to the payer; the balance must hold it."""
    if payment.outcome == HELD:  # it never reached a balance: its incident decides it
        raise RefundNotAllowed("held money is refunded by deciding its incident", field="channel_txn_id")
    order = session.get(PaymentOrder, payment.order_id) if payment.order_id else None
    debit_code = _balance_that_received(session, payment, order)
    if ledger.balance_fen(session, debit_code) < amount_fen:
        raise RefundNotAllowed("the balance is smaller than the refund", field="amount")
    refund = propose(session, payment=payment, order=order, debit_code=debit_code, amount_fen=amount_fen,
                     reason=reason, note=note, now=now, requested_by=staff_id)
    audit(session, staff_id=staff_id, action="request_refund", target=f"refund:{refund.refund_no}", at=now,
          after=_snapshot(refund))
    return refund


def _balance_that_received(session: Session, payment: ChannelPayment, order: PaymentOrder | None) -> str:
    """Where the payment's own transfer went: held money credited by a staff decision went to the 户号
    they named, whatever the order says; a counter receipt posts one transfer per 户号."""
    credited = session.exec(select(LedgerAccount.code).join(Transfer, Transfer.credit_id == LedgerAccount.id)
                            .where(Transfer.key == f"pay:{payment.channel}:{payment.channel_txn_id}")).first()
    if credited is not None:
        return credited
    if order is None:
        raise RefundNotAllowed("this payment was credited to no balance", field="channel_txn_id")
    if order.purpose == BULK:
        return ledger.manager_code(order.manager_id)
    lines = order_lines(session, order)
    if len(lines) != 1:
        raise RefundNotAllowed("a receipt for several 户号 is refunded 户号 by 户号 at the counter", field="out_trade_no")
    return ledger.customer_code(lines[0][0].account_no)


def decide(session: Session, refund: Refund, *, staff_id: int, approve: bool, now: datetime) -> Refund:
    """Finance approves or rejects; whoever asked for a refund cannot approve it."""
    if refund.state != PROPOSED:
        raise RefundNotAllowed(f"refund {refund.refund_no} is {refund.state}, not awaiting a decision")
    if refund.requested_by == staff_id:
        raise PermissionDenied("a refund needs a second person to approve it", field="staff")
    of_held_money = not refund.debit_code or refund.debit_code.startswith("suspense:")
    if approve and of_held_money and session.get(ChannelPayment, refund.channel_payment_id).outcome != HELD:
        raise RefundNotAllowed("the held money was credited to a balance since", field="credited")
    if approve and refund.debit_code and ledger.balance_fen(session, refund.debit_code) < refund.amount_fen:
        raise RefundNotAllowed("the balance is smaller than the refund", field="amount")
    before = _snapshot(refund)
    refund.state, refund.decided_by, refund.decided_at = (APPROVED if approve else REJECTED), staff_id, now
    session.add(refund)
    audit(session, staff_id=staff_id, action="approve_refund" if approve else "reject_refund",
          target=f"refund:{refund.refund_no}", at=now, before=before, after=_snapshot(refund))
    return refund


def mark_submitted(session: Session, refund: Refund, now: datetime) -> None:
    """Committed before the channel is called, so that a crash mid-call leaves a refund to query."""
    if refund.state not in (APPROVED, SUBMITTED):
        raise RefundNotAllowed(f"refund {refund.refund_no} is {refund.state}, not approved")
    refund.state, refund.submitted_at = SUBMITTED, refund.submitted_at or now
    session.add(refund)


def apply_report(session: Session, report: RefundReport, *, now: datetime) -> Refund | None:
    """The channel's word on a refund: post the reversal once, on success only."""
    refund = session.exec(select(Refund).where(Refund.refund_no == report.refund_no).with_for_update()).first()
    if refund is None or refund.state != SUBMITTED:
        return refund
    refund.channel_refund_id = report.channel_refund_id or refund.channel_refund_id
    if report.status == REFUND_SUCCEEDED:
        refund.state, refund.confirmed_at = SUCCEEDED, now
        if refund.debit_code:  # money held before suspense existed was never booked: nothing to reverse
            allocation.post(session, Posting(f"refund:{refund.refund_no}", refund.debit_code,
                                             f"clearing:{refund.channel}", refund.amount_fen, "refund", refund.reason),
                            at=now)
        events.emit(session, events.REFUND_CONFIRMED, at=now, refund_no=refund.refund_no, amount_fen=refund.amount_fen,
                    debit=refund.debit_code)
        close_refunded(session, [refund.refund_no], now)  # a 对账 difference it was asked for ends here
    elif report.status == REFUND_FAILED:
        refund.state, refund.confirmed_at, refund.failure = FAILED, now, "channel reported failure"
    session.add(refund)
    return refund


def fail(session: Session, refund: Refund, reason: str, now: datetime) -> None:
    refund.state, refund.confirmed_at, refund.failure = FAILED, now, reason[:200]
    session.add(refund)


def _snapshot(refund: Refund) -> dict:
    return {"state": refund.state, "amount_fen": refund.amount_fen, "reason": refund.reason, "debit": refund.debit_code}
