"""The rest of an account's story for the back office, one query per section: the ledger transfers
of its balance with the running balance after each, the dunning ladder's steps and the stage it is
at, supply orders (停电/复电), payment plans with their instalments, its valid reads for the use
chart, and the audit trail of everything staff did to it.

The reads, corrections and review items are in ``account_history``; bills in ``bill_explained``;
payments and refunds in ``payments.account_payments``; messages in ``notifications.delivery_log``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import String, and_, cast, literal, or_, union_all
from sqlmodel import Session, select

from billing.accounts import Account
from billing.audit import AuditEntry
from billing.bill_records import Bill
from billing.dunning_records import CLOSING, DunningStep
from billing.ledger import LedgerAccount, Transfer, customer_code
from billing.meters import MeterInstallation
from billing.payment_plans import Instalment, PaymentPlan
from billing.reads import VALID, Read
from billing.review import ReviewItem
from billing.staff import StaffUser
from billing.supply_order_records import SupplyOrder
from billing.waivers import Waiver


class LedgerLine(NamedTuple):
    posted_at: datetime
    business_date: date
    code: str
    memo: str
    signed_fen: int  # + credited to the balance (money in), - debited (a bill, a late fee, a refund)
    balance_fen: int  # the balance right after it: + prepaid, - owed


def ledger_lines(session: Session, account: Account) -> list[LedgerLine]:
    """Every transfer of the account's balance, newest first, with the balance after each (columns,
    not objects: a prepaid account settles daily, some 450 transfers in 14 months)."""
    rows = session.exec(select(Transfer.posted_at, Transfer.business_date, Transfer.code, Transfer.memo,
                               Transfer.amount_fen, Transfer.credit_id == LedgerAccount.id)
                        .join(LedgerAccount, or_(Transfer.debit_id == LedgerAccount.id,
                                                 Transfer.credit_id == LedgerAccount.id))
                        .where(LedgerAccount.code == customer_code(account.account_no)).order_by(Transfer.id))
    lines, balance = [], 0
    for posted_at, business_date, code, memo, amount_fen, credited in rows:
        signed = amount_fen if credited else -amount_fen
        balance += signed
        lines.append(LedgerLine(posted_at, business_date, code, memo, signed, balance))
    return lines[::-1]


@dataclass(frozen=True)
class Dunning:
    steps: list[DunningStep]  # newest first
    stage: str | None  # the last step of the open case (None: no case open)


def dunning(session: Session, account_id: int) -> Dunning:
    steps = list(session.exec(select(DunningStep).where(DunningStep.account_id == account_id)
                              .order_by(DunningStep.at.desc(), DunningStep.id.desc())))
    closed = {step.case_ref for step in steps if step.step in CLOSING}
    stage = next((step.step for step in steps if step.case_ref not in closed), None)
    return Dunning(steps, stage)


def supply_orders(session: Session, account_id: int) -> list[SupplyOrder]:
    return list(session.exec(select(SupplyOrder).where(SupplyOrder.account_id == account_id)
                             .order_by(SupplyOrder.created_at.desc(), SupplyOrder.id.desc())))


def plans(session: Session, account_id: int) -> list[tuple[PaymentPlan, list[Instalment]]]:
    """The account's payment plans, newest first, each with its instalments by due day."""
    rows = session.exec(select(PaymentPlan, Instalment).outerjoin(Instalment, Instalment.plan_id == PaymentPlan.id)
                        .where(PaymentPlan.account_id == account_id)
                        .order_by(PaymentPlan.id.desc(), Instalment.due_on))
    found: dict[int, tuple[PaymentPlan, list[Instalment]]] = {}
    for plan, instalment in rows:
        found.setdefault(plan.id, (plan, []))[1].extend([instalment] if instalment else [])
    return list(found.values())


class ReadPoint(NamedTuple):
    id: int
    meter_id: int
    read_on: date
    total_wh: int
    source: str
    multiplier: int  # of the installation the read belongs to


def valid_reads(session: Session, account_id: int) -> list[ReadPoint]:
    """The account's valid reads, oldest first, each with the multiplier of its installation then
    (a read on a removal day belongs to the meter removed)."""
    rows = session.exec(select(Read.id, Read.meter_id, Read.read_on, Read.total_wh, Read.source,
                               MeterInstallation.multiplier).join(MeterInstallation, and_(
        MeterInstallation.meter_id == Read.meter_id, MeterInstallation.account_id == account_id,
        MeterInstallation.installed_on <= Read.read_on,
        or_(MeterInstallation.removed_on.is_(None), Read.read_on <= MeterInstallation.removed_on)))
        .where(Read.status == VALID).order_by(Read.read_on, Read.id, MeterInstallation.installed_on))
    seen: dict[int, ReadPoint] = {}
    for row in rows:  # a 倍率 change's day joins both installations: the old one counts
        seen.setdefault(row[0], ReadPoint(*row))
    return list(seen.values())


def _target(prefix: str, column):
    return (literal(prefix, String) + cast(column, String)).label("target")


def account_targets(account: Account, *more):
    """The audit targets that are this account's: the account itself, its bills, review items,
    waivers, supply orders and plans (``more``: the selects of upper layers, e.g. payment orders)."""
    return union_all(
        select(literal(f"account:{account.account_no}", String).label("target")),
        select(literal(f"account:{account.id}", String).label("target")),  # a payment plan's target
        select(_target("bill:", Bill.id)).where(Bill.account_id == account.id),
        select(_target("review:", ReviewItem.id)).where(or_(ReviewItem.account_id == account.id, and_(
            ReviewItem.account_id.is_(None), ReviewItem.meter_id == account.meter_id))),
        select(_target("waiver:", Waiver.id)).where(Waiver.account_id == account.id),
        select(_target("supply_order:", SupplyOrder.id)).where(SupplyOrder.account_id == account.id),
        *more)


def audit_trail(session: Session, targets) -> list[tuple[AuditEntry, str]]:
    """The audit entries on ``targets`` (``account_targets``), newest first, with who acted."""
    return [(entry, name) for entry, name in session.exec(
        select(AuditEntry, StaffUser.name).join(StaffUser, StaffUser.id == AuditEntry.staff_id)
        .where(AuditEntry.target.in_(select(targets.subquery().c.target)))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()))]

