"""The collections desk's worklist: who owes, how much, for how long, and where each stands on the
dunning ladder, with large units first, then property managers' 户号, then residents (the paper:
arrears come above all from large units and managers).  Cases that need a person (a protected
account, a notice that never arrived) are listed apart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlmodel import Session

from billing.accounts import LARGE_INDUSTRY, NON_RESIDENTIAL, Account
from billing.bad_debt_records import held_accounts
from billing.db import among
from billing.dunning import debtors_of, open_cases, unpaid_bills
from billing.dunning_records import OVERDUE, PROTECTED, UNDELIVERED
from billing.managers import Manager, ManagerAccount
from billing.payment_plans import ACTIVE, PaymentPlan

LARGE_UNITS, MANAGED, RESIDENTS = "large_units", "managers", "residents"
GROUPS = (LARGE_UNITS, MANAGED, RESIDENTS)
NEEDS_A_PERSON = (PROTECTED, UNDELIVERED)


@dataclass(frozen=True)
class Row:
    account_id: int
    account_no: str
    holder_name: str
    group: str
    manager: str
    regime: str
    owed_fen: int
    overdue_days: int
    stage: str  # the open case's latest step, "on_plan", "bad_debt", or bill_overdue
    protected: bool


def worklist(session: Session, *, on: date) -> list[Row]:
    """Every debtor, large units first, then managers' 户号, then residents; the most owed first."""
    debtors = debtors_of(session, unpaid_bills(session, on), on)
    cases = open_cases(session)
    planned = set(session.execute(select(PaymentPlan.account_id).where(PaymentPlan.state == ACTIVE)).scalars())
    bad = held_accounts(session)
    names = {row.id: row for row in session.execute(
        select(Account.id, Account.holder_name, Account.category, Manager.name.label("manager"))
        .outerjoin(ManagerAccount, ManagerAccount.account_id == Account.id)
        .outerjoin(Manager, Manager.id == ManagerAccount.manager_id)
        .where(among(session, Account.id, debtors)))}
    rows = [_row(debtor, names[account_id], cases.get(account_id, {}), on,
                 "bad_debt" if account_id in bad else "on_plan" if account_id in planned else None)
            for account_id, debtor in debtors.items()]
    return sorted(rows, key=lambda row: (GROUPS.index(row.group), -row.owed_fen, row.account_no))


def _row(debtor, named, steps: dict, on: date, held: str | None) -> Row:
    group = (LARGE_UNITS if named.category in (LARGE_INDUSTRY, NON_RESIDENTIAL)
             else MANAGED if named.manager else RESIDENTS)
    latest = max(steps.values(), key=lambda step: step.id).step if steps else OVERDUE
    overdue = (on - debtor.oldest[1]).days if debtor.oldest else 0
    return Row(debtor.account_id, debtor.account_no, named.holder_name, group, named.manager or "", debtor.regime,
               debtor.owed_fen, overdue, held or latest, debtor.protected)


def needing_a_person(rows: list[Row]) -> list[Row]:
    return [row for row in rows if row.stage in NEEDS_A_PERSON]
