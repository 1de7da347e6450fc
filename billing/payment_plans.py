"""Promises to pay and instalment plans (还款计划), agreed at the collections desk.

A plan is one or more instalments (a promise to pay is a plan of one).  While it is active the
dunning ladder leaves the account alone: no new notice, no cut.  Each dunning run reviews the
plans first: money paid onto the account since the plan was agreed is counted against the
instalments in date order, so a plan is broken the day after an instalment falls short (and the
ladder resumes in that same run), and kept once everything promised has come in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import CheckConstraint, UniqueConstraint, func, select
from sqlmodel import Field, Session, SQLModel

from billing import events, ledger
from billing.accounts import Account
from billing.audit import audit
from billing.clock import beijing_date
from billing.errors import InvalidInput, NotFound
from billing.ledger import LedgerAccount, Transfer
from billing.money import require_fen

ACTIVE, KEPT, BROKEN = "active", "kept", "broken"
MAX_INSTALMENTS = 12
PLAN_AGREED, PLAN_KEPT, PLAN_BROKEN = "plan_agreed", "plan_kept", "plan_broken"
PAYMENT_CODES = ("payment", "bulk", "counter")  # money coming in, not a cancelled bill's reversal


class PaymentPlan(SQLModel, table=True):
    __tablename__ = "payment_plan"
    __table_args__ = (CheckConstraint("state IN ('active', 'kept', 'broken')", name="state"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    agreed_by: int = Field(foreign_key="staff_user.id")
    agreed_at: datetime
    note: str = Field(default="", max_length=200)
    state: str = Field(default=ACTIVE, max_length=10)
    ended_at: datetime | None = None


class Instalment(SQLModel, table=True):
    __tablename__ = "plan_instalment"
    __table_args__ = (UniqueConstraint("plan_id", "due_on"), CheckConstraint("amount_fen > 0", name="positive"))

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="payment_plan.id", index=True)
    due_on: date
    amount_fen: int


@dataclass(frozen=True)
class Promise:
    due_on: date
    amount_fen: int


def agree(session: Session, account_id: int, promises: list[Promise], *, staff_id: int, note: str,
          now: datetime) -> PaymentPlan:
    """A new plan for the account: instalments on distinct days from today on, each a positive amount."""
    _check(session, account_id, promises, beijing_date(now))
    plan = PaymentPlan(account_id=account_id, agreed_by=staff_id, agreed_at=now, note=note.strip()[:200])
    session.add(plan)
    session.flush()
    session.add_all(Instalment(plan_id=plan.id, due_on=p.due_on, amount_fen=p.amount_fen) for p in promises)
    promised = [{"due_on": p.due_on, "amount_fen": p.amount_fen} for p in promises]
    events.emit(session, PLAN_AGREED, at=now, account_id=account_id, plan_id=plan.id, instalments=promised)
    audit(session, staff_id=staff_id, action="agree_payment_plan", target=f"account:{account_id}", at=now,
          after={"plan_id": plan.id, "instalments": promised, "note": plan.note})
    return plan


def _check(session: Session, account_id: int, promises: list[Promise], today: date) -> None:
    if session.get(Account, account_id) is None:
        raise NotFound("no such 户号", field="account_no")
    if not 1 <= len(promises) <= MAX_INSTALMENTS:
        raise InvalidInput("instalments", f"a plan has 1 to {MAX_INSTALMENTS} instalments")
    days = [p.due_on for p in promises]
    if days != sorted(set(days)) or days[0] < today:
        raise InvalidInput("due_on", "instalment days must be today or later, each later than the one before")
    for p in promises:
        require_fen(p.amount_fen, "amount")
        if p.amount_fen <= 0:
            raise InvalidInput("amount", "each instalment must be more than zero")
    if active_plan(session, account_id) is not None:
        raise InvalidInput("plan", "this 户号 already has an active plan")


def active_plan(session: Session, account_id: int) -> PaymentPlan | None:
    return session.execute(select(PaymentPlan).where(PaymentPlan.account_id == account_id,
                                                     PaymentPlan.state == ACTIVE)).scalar()


def review(session: Session, *, on: date, now: datetime) -> set[int]:
    """Mark active plans kept or broken as of ``on``; the accounts whose plan is still active."""
    paused = set()
    for plan in session.execute(select(PaymentPlan).where(PaymentPlan.state == ACTIVE).with_for_update()).scalars():
        instalments = session.execute(select(Instalment).where(Instalment.plan_id == plan.id)
                                      .order_by(Instalment.due_on)).scalars().all()
        paid = _paid_since(session, plan)
        owed_by_now = sum(i.amount_fen for i in instalments if i.due_on < on)
        if paid >= sum(i.amount_fen for i in instalments):
            _end(session, plan, KEPT, PLAN_KEPT, now, paid_fen=paid)
        elif paid < owed_by_now:
            _end(session, plan, BROKEN, PLAN_BROKEN, now, paid_fen=paid, owed_fen=owed_by_now)
        else:
            paused.add(plan.account_id)
    return paused


def _paid_since(session: Session, plan: PaymentPlan) -> int:
    """Money paid onto the account's balance since the plan was agreed."""
    code = ledger.customer_code(session.get(Account, plan.account_id).account_no)
    paid = session.execute(select(func.coalesce(func.sum(Transfer.amount_fen), 0))
                           .join(LedgerAccount, LedgerAccount.id == Transfer.credit_id)
                           .where(LedgerAccount.code == code, Transfer.code.in_(PAYMENT_CODES),
                                  Transfer.posted_at >= plan.agreed_at)).scalar()
    return int(paid)


def _end(session: Session, plan: PaymentPlan, state: str, kind: str, now: datetime, **detail) -> None:
    plan.state, plan.ended_at = state, now
    session.add(plan)
    events.emit(session, kind, at=now, account_id=plan.account_id, plan_id=plan.id, **detail)
