"""Staff decisions on payment incidents.

Held money (an unknown order, a different amount, another channel) was verified as real but
credited nowhere; finance decides to ``credit`` it to a 户号 or ``refund`` it to the payer.  A
second payment of one order was credited and a refund proposed: ``keep`` it on the balance
(the proposed refund is rejected) or decide the refund on the refunds page.  Incidents that carry
no money are ``acknowledge``d; so is one of several incidents of one held transaction, but not the
last one that could still decide held money (it would stay in suspense for ever).  Every decision
is audit-logged through ``resolve_incident``.

One transaction may have several incidents (the channel reported it inconsistently more than
once), so a decision is checked against what was already done with the money, and a decision
that contradicts it is refused (``DecisionContradicts``): crediting money that is already on a
balance or being refunded, refunding held money that was credited since, keeping a duplicate
payment whose refund was already approved, sent or paid.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, and_, or_, select

from billing.accounts import get_account
from billing.errors import InvalidInput
from billing.incidents import OPEN, Incident, resolve_incident
from billing.money import MAX_FEN
from payments import refunds, suspense
from payments.errors import DecisionContradicts, PaymentError
from payments.orders import CREDITED, HELD as HELD_OUTCOME, ChannelPayment, PaymentOrder, order_lines
from payments.settlement import credit_account

HELD = ("unknown_order", "amount_mismatch", "wrong_channel")
CHOICES = {
    **dict.fromkeys(HELD, ("credit", "refund", "acknowledge")),
    "wrong_merchant": ("acknowledge",),
    "duplicate_payment": ("keep", "acknowledge"),
    "cash_difference": ("acknowledge",),
    "transfer_conflict": ("acknowledge",),
}


def choices(incident: Incident) -> tuple[str, ...]:
    return CHOICES.get(incident.kind, ("acknowledge",))


def decide(session: Session, incident_id: int, *, decision: str, staff_id: int, now: datetime,
           account_no: str = "", note: str = "") -> Incident:
    incident = _open_incident(session, incident_id)
    if decision not in choices(incident):
        raise InvalidInput("decision", f"{incident.kind} takes {', '.join(choices(incident))}")
    if decision == "acknowledge" and incident.kind in HELD:
        _require_decided_elsewhere(session, incident)
    outcome = {"credit": _credit, "refund": _refund, "keep": _keep}.get(decision)
    summary = ""
    if outcome:
        payment = _payment_of(session, incident)
        if payment is None:
            raise DecisionContradicts(decision, "this incident carries no payment")
        summary = outcome(session, payment, staff_id=staff_id, now=now, account_no=account_no)
    resolve_incident(session, incident, staff_id=staff_id, at=now, resolution=f"{decision}: {summary} {note}".strip())
    return incident


def _open_incident(session: Session, incident_id: int) -> Incident:
    incident = None
    if 0 < incident_id <= MAX_FEN:  # ids are BIGINT like amounts: a larger number names nothing
        incident = session.exec(select(Incident).where(Incident.id == incident_id).with_for_update()).first()
    if incident is None or incident.status != OPEN:
        raise PaymentError("this incident is not open", field="incident")
    return incident


def _payment_of(session: Session, incident: Incident) -> ChannelPayment | None:
    """The channel payment an incident is about, locked: the one it opened, or for a later report
    of the same transaction (``<channel>:<transaction id>``) that transaction's."""
    channel, _, txn = incident.ref.partition(":")
    return session.exec(select(ChannelPayment).where(or_(
        ChannelPayment.incident_id == incident.id,
        and_(ChannelPayment.channel == channel, ChannelPayment.channel_txn_id == txn),
    )).with_for_update()).first()


def _live_refunds(session: Session, payment: ChannelPayment, states: tuple[str, ...]) -> list[refunds.Refund]:
    return list(session.exec(select(refunds.Refund).where(
        refunds.Refund.channel_payment_id == payment.id, refunds.Refund.state.in_(states))))


def _require_decided_elsewhere(session: Session, incident: Incident) -> None:
    """Held money cannot be left in suspense by closing the last incident that could decide it."""
    payment = _payment_of(session, incident)
    if payment is None or payment.outcome != HELD_OUTCOME or _live_refunds(session, payment, refunds.LIVE):
        return
    others = session.exec(select(Incident.id).where(Incident.ref == incident.ref, Incident.id != incident.id,
                                                    Incident.kind.in_(HELD), Incident.status == OPEN)).first()
    if others is None:
        raise DecisionContradicts("acknowledge", f"payment {payment.channel_txn_id} is still in suspense: "
                                                 "credit it to a 户号 or refund it")


def _require_held(payment: ChannelPayment, decision: str) -> None:
    if payment.outcome != HELD_OUTCOME:
        raise DecisionContradicts(decision, f"payment {payment.channel_txn_id} is already on a balance")


def _order(session: Session, payment: ChannelPayment) -> PaymentOrder | None:
    return session.get(PaymentOrder, payment.order_id) if payment.order_id else None


def _credit(session: Session, payment: ChannelPayment, *, staff_id: int, now: datetime, account_no: str) -> str:
    """Put held money on a balance: the 户号 staff name, else the order's own 户号."""
    _require_held(payment, "credit")
    if _live_refunds(session, payment, refunds.LIVE):
        raise DecisionContradicts("credit", f"payment {payment.channel_txn_id} is being or was refunded")
    order = _order(session, payment)
    if account_no:
        account = get_account(session, account_no)
    elif order is not None and len(lines := order_lines(session, order)) == 1:
        account = lines[0][0]
    else:
        raise InvalidInput("account_no", "name the 户号 to credit")
    source = suspense.holding_account(session, payment.channel, payment.channel_txn_id)
    credit_account(session, key=f"pay:{payment.channel}:{payment.channel_txn_id}", source=source, account=account,
                   amount_fen=payment.amount_fen, code="payment", channel=payment.channel,
                   out_trade_no=payment.out_trade_no, now=now)
    payment.outcome = CREDITED
    session.add(payment)
    return f"credited {payment.amount_fen} fen to {account.account_no}"


def _refund(session: Session, payment: ChannelPayment, *, staff_id: int, now: datetime, account_no: str) -> str:
    """Send held money back: it never reached a balance, so the refund takes it out of suspense."""
    _require_held(payment, "refund")
    if _live_refunds(session, payment, refunds.LIVE):
        raise DecisionContradicts("refund", f"payment {payment.channel_txn_id} is already being or was refunded")
    held_in = suspense.holding_account(session, payment.channel, payment.channel_txn_id)
    refund = refunds.propose(session, payment=payment, order=_order(session, payment),
                             debit_code=held_in if suspense.is_suspense(held_in) else "",
                             amount_fen=refunds.refundable_fen(session, payment), reason=refunds.OVERPAYMENT,
                             note="held payment returned", now=now, requested_by=staff_id)
    return f"refund {refund.refund_no} proposed for approval"


def _keep(session: Session, payment: ChannelPayment, *, staff_id: int, now: datetime, account_no: str) -> str:
    decided = _live_refunds(session, payment, (refunds.APPROVED, refunds.SUBMITTED, refunds.SUCCEEDED))
    if decided:
        raise DecisionContradicts("keep", f"refund {decided[0].refund_no} of this payment is already {decided[0].state}")
    for refund in _live_refunds(session, payment, (refunds.PROPOSED,)):
        refunds.decide(session, refund, staff_id=staff_id, approve=False, now=now)
    return "kept on the balance"
