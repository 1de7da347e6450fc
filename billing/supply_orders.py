"""What happens to a supply order (``billing.supply_order_records``): opened by the dunning step
that ordered it, in the same transaction; then sent, answered, retried, escalated, confirmed.

The transport (the head-end's HTTP API) lives in ``metering``: it asks ``due`` what to do, talks to
the head-end outside any transaction, and records each answer here.  Every ``record_*`` locks the
order and checks it is still where the worker saw it, so two workers racing on one order (cron
overlapping itself) record its answer once; the head-end deduplicates the switch by our reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from billing import events
from billing.accounts import ACTIVE, DISCONNECTED, Account, Meter
from billing.audit import audit
from billing.clock import beijing_date, beijing_minute
from billing.db import among
from billing.dunning_records import ORDERED, RECONNECT
from billing.errors import InvalidInput, NotFound
from billing.supply_order_records import (
    CANCELLED, CONFIRMED, CUT, CUT_DONE, ESCALATED, ESCALATED_EVENT, FAILED, FIELD, OPEN, PENDING, REMOTE, RESTORE,
    RESTORE_DONE, SENT, SupplyOrder,
)

SENDABLE = (PENDING, FAILED, ESCALATED)


@dataclass(frozen=True)
class Retry:
    """How hard the worker tries: the waits after each failure (the last repeats, forever), how many
    failures before staff are told, how often a sent switch is asked about and how long it may take."""

    backoff: tuple[timedelta, ...] = (timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30),
                                      timedelta(hours=1))
    escalate_after: int = 3
    poll_every: timedelta = timedelta(minutes=1)
    answer_within: timedelta = timedelta(minutes=30)

    def wait(self, failures: int) -> timedelta:
        return self.backoff[min(failures, len(self.backoff)) - 1]


def on_step(session: Session, *, step_id: int, step: str, account_id: int, case_ref: str, method: str | None,
            due_at: datetime | None, now: datetime) -> SupplyOrder | None:
    """The order a dunning step calls for: a cut for ``disconnection_ordered``, a restore for
    ``reconnection_ordered``; other steps order nothing."""
    kind = {ORDERED: CUT, RECONNECT: RESTORE}.get(step)
    if kind is None:
        return None
    meter_no = session.execute(select(Meter.meter_no).join(Account, Account.meter_id == Meter.id)
                               .where(Account.id == account_id)).scalar_one()
    order = SupplyOrder(account_id=account_id, step_id=step_id, case_ref=case_ref, kind=kind, method=method or REMOTE,
                        meter_no=meter_no, next_try_at=now, deadline=due_at if kind == RESTORE else None,
                        created_at=now)
    if kind == RESTORE and _call_off_cut(session, account_id, case_ref, now):
        order.state, order.error = CANCELLED, "the cut never reached the meter: nothing to restore"
    session.add(order)
    session.flush()
    return order


def _call_off_cut(session: Session, account_id: int, case_ref: str, now: datetime) -> bool:
    """Paid before the cut took: a cut still waiting (to be sent again, or for a crew) is called off,
    so that it can never go out after the payment.  True when a remote cut never left us at all: then
    there is nothing to restore.  (After a failed attempt the restore still goes out: a lost answer
    may hide a relay that did open, and switching on a meter that is on does no harm.  A field cut may
    have been done by a crew that has not reported yet: its restore stays for staff to confirm.)  A cut
    in flight is left to finish; its restore waits for it (see ``due``)."""
    cut = _cut_of(session, account_id, case_ref)
    if cut is None or cut.state not in SENDABLE:
        return False
    cut.state, cut.error, cut.next_try_at = CANCELLED, "arrears paid before the cut", now
    session.add(cut)
    return cut.method == REMOTE and cut.attempts == 0


def _cut_of(session: Session, account_id: int, case_ref: str) -> SupplyOrder | None:
    return session.execute(select(SupplyOrder).where(SupplyOrder.account_id == account_id,
                                                     SupplyOrder.case_ref == case_ref, SupplyOrder.kind == CUT)
                           .with_for_update()).scalar_one_or_none()


def due(session: Session, now: datetime) -> list[SupplyOrder]:
    """Remote orders to act on now: to send (pending, failed, escalated) or to ask about (sent).
    A restore waits while its case's cut is still in flight, so the head-end never sees them crossed."""
    orders = session.execute(select(SupplyOrder).where(SupplyOrder.method == REMOTE,
                                                       SupplyOrder.state.in_((*SENDABLE, SENT)),
                                                       SupplyOrder.next_try_at <= now)
                             .order_by(SupplyOrder.id)).scalars().all()
    restores = [o for o in orders if o.kind == RESTORE]
    in_flight = {(row.account_id, row.case_ref) for row in session.execute(
        select(SupplyOrder.account_id, SupplyOrder.case_ref).where(
            SupplyOrder.kind == CUT, SupplyOrder.state == SENT,
            among(session, SupplyOrder.account_id, {o.account_id for o in restores})))} if restores else set()
    return [o for o in orders if o.kind == CUT or (o.account_id, o.case_ref) not in in_flight]


def switch_ref(order: SupplyOrder) -> str:
    """Our reference for the next switch request: one per attempt, so the head-end (which
    deduplicates by it) treats a racing worker's duplicate as the same request."""
    return f"so-{order.id}-{order.attempts + 1}"


def record_sent(session: Session, order_id: int, ref: str, *, head_end_ref: str, now: datetime, retry: Retry) -> bool:
    order = _locked(session, order_id)
    if order.state not in SENDABLE or switch_ref(order) != ref:
        return False  # another worker recorded this attempt
    order.state, order.attempts, order.head_end_ref = SENT, order.attempts + 1, head_end_ref
    order.sent_at, order.next_try_at = now, now + retry.poll_every
    session.add(order)
    return True


def record_refused(session: Session, order_id: int, ref: str, *, error: str, now: datetime, retry: Retry) -> bool:
    """The head-end refused the switch, or could not be reached: a failed attempt."""
    order = _locked(session, order_id)
    if order.state not in SENDABLE or switch_ref(order) != ref:
        return False
    order.attempts += 1
    _fail(session, order, error, now, retry)
    return True


def record_answer(session: Session, order_id: int, head_end_ref: str, *, state: str, error: str, now: datetime,
                  retry: Retry) -> bool:
    """What the head-end says of a sent switch: confirmed, failed, or still pending (asked again
    later; a switch unanswered for ``answer_within`` counts as failed and is sent again)."""
    order = _locked(session, order_id)
    if order.state != SENT or order.head_end_ref != head_end_ref:
        return False
    if state == CONFIRMED:
        _confirm(session, order, now)
    elif state == FAILED:
        _fail(session, order, error or "the head-end reported the switch failed", now, retry)
    elif now - order.sent_at >= retry.answer_within:
        _fail(session, order, f"no answer from the head-end within {retry.answer_within}", now, retry)
    else:
        order.next_try_at = now + retry.poll_every
        session.add(order)
    return True


def confirm_by_staff(session: Session, order_id: int, *, staff_id: int, now: datetime, note: str = "") -> SupplyOrder:
    """A field crew reports the meter switched (or staff confirm an escalated remote order that a crew
    finished by hand): audited with who confirmed it."""
    order = session.get(SupplyOrder, order_id, with_for_update=True)
    if order is None:
        raise NotFound(f"supply order {order_id} does not exist", field="order_id")
    if order.state not in OPEN:
        raise InvalidInput("order_id", f"supply order {order_id} is {order.state}: nothing to confirm")
    before = {"state": order.state, "attempts": order.attempts}
    order.confirmed_by = staff_id
    _confirm(session, order, now)
    audit(session, staff_id=staff_id, action="supply_order_confirmed", target=f"supply_order:{order.id}", at=now,
          before=before, after={"state": order.state, "note": note})
    return order


def escalate_late(session: Session, now: datetime) -> int:
    """Restores past their legal deadline are escalated (and still worked); the number escalated."""
    late = session.execute(select(SupplyOrder).where(SupplyOrder.kind == RESTORE, SupplyOrder.state.in_(OPEN),
                                                     SupplyOrder.deadline < now, SupplyOrder.escalated_at.is_(None))
                           .with_for_update()).scalars().all()
    for order in late:
        _escalate(session, order, f"restore deadline {beijing_minute(order.deadline)} passed", now)
        session.add(order)
    return len(late)


def _locked(session: Session, order_id: int) -> SupplyOrder:
    return session.get(SupplyOrder, order_id, with_for_update=True, populate_existing=True)


def _fail(session: Session, order: SupplyOrder, error: str, now: datetime, retry: Retry) -> None:
    order.state, order.error = FAILED, error[:200]
    if order.kind == CUT and _has_restore(session, order):
        order.state = CANCELLED  # paid while the cut was in flight: do not try again
    elif order.escalated_at is not None or order.attempts >= retry.escalate_after:
        _escalate(session, order, error, now)
    order.next_try_at = now + retry.wait(order.attempts)
    session.add(order)


def _has_restore(session: Session, order: SupplyOrder) -> bool:
    return session.execute(select(func.count()).where(SupplyOrder.account_id == order.account_id,
                                                      SupplyOrder.case_ref == order.case_ref,
                                                      SupplyOrder.kind == RESTORE)).scalar() > 0


def _escalate(session: Session, order: SupplyOrder, reason: str, now: datetime) -> None:
    """Staff hear of it once (an event); an order in flight stays sent until its answer comes."""
    if order.state != SENT:
        order.state = ESCALATED
    if order.escalated_at is None:
        order.escalated_at = now
        events.emit(session, ESCALATED_EVENT, at=now, account_id=order.account_id, order_id=order.id,
                    order_kind=order.kind, method=order.method, attempts=order.attempts, reason=reason)


def _confirm(session: Session, order: SupplyOrder, now: datetime) -> None:
    """The meter is switched: the account's status follows, and the resident hears of it (only of a
    change: restoring supply that was never cut says nothing)."""
    order.state, order.confirmed_at = CONFIRMED, now
    session.add(order)
    account = session.get(Account, order.account_id, with_for_update=True)
    before, after = (ACTIVE, DISCONNECTED) if order.kind == CUT else (DISCONNECTED, ACTIVE)
    if account.status != before:
        return
    account.status = after
    session.add(account)
    kind, shown = (CUT_DONE, "cut_time") if order.kind == CUT else (RESTORE_DONE, "restore_time")
    events.emit(session, kind, at=now, account_id=account.id, account_no=account.account_no, order_id=order.id,
                method=order.method, **{shown: beijing_minute(now)})


def cut_days(session: Session, account_ids: list[int]) -> dict[int, date]:
    """Disconnected accounts whose cut was confirmed: the (Beijing) day of their latest confirmed cut."""
    if not account_ids:
        return {}
    rows = session.execute(select(SupplyOrder.account_id, func.max(SupplyOrder.confirmed_at))
                           .join(Account, Account.id == SupplyOrder.account_id)
                           .where(SupplyOrder.kind == CUT, SupplyOrder.state == CONFIRMED,
                                  Account.status == DISCONNECTED, among(session, SupplyOrder.account_id, account_ids))
                           .group_by(SupplyOrder.account_id)).all()
    return {account_id: beijing_date(at) for account_id, at in rows}


def waiting_on_staff(session: Session) -> list[SupplyOrder]:
    """Work for the field crews and for staff: open field orders, and every escalated order."""
    return list(session.execute(select(SupplyOrder).where(
        SupplyOrder.state.in_(OPEN), (SupplyOrder.method == FIELD) | SupplyOrder.escalated_at.is_not(None))
        .order_by(SupplyOrder.id)).scalars())
