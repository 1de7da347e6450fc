"""A property manager's monthly statement (物业月度对账单): for each managed 户号, the balance the
month opened with, what was billed, what was paid (and how much of it by this manager), anything
else that moved the balance, and the balance it closed with; with totals.

Every figure is read from the ledger transfers on the 户号's customer balance by their business
date (Beijing), so the statement agrees with the ledger by construction and a test holds it to
it: billed is every transfer between the balance and revenue (bills net of their cancellations,
智能交费 daily charges, late-fee bills), paid is what ``finance_statement`` counts as collected
(``payment``, ``counter``, ``bulk``), and other is the rest (refunds, opening balances,
write-offs).  closing = opening - billed + paid + other.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from billing.accounts import Account
from billing.errors import InvalidInput
from billing.finance_statement import COLLECTION_CODES, FIRST_YEAR, LAST_YEAR
from billing.ledger import LedgerAccount, Transfer, customer_code, manager_code
from billing.managers import Manager, ManagerAccount

OPENING, BILLED, PAID, BY_MANAGER, OTHER = "opening", "billed", "paid", "by_manager", "other"


@dataclass(frozen=True)
class Figures:
    opening_fen: int = 0
    billed_fen: int = 0
    paid_fen: int = 0
    by_manager_fen: int = 0  # of paid_fen, what this manager's bulk payments brought
    other_fen: int = 0

    @property
    def closing_fen(self) -> int:
        return self.opening_fen - self.billed_fen + self.paid_fen + self.other_fen

    def __add__(self, other: Figures) -> Figures:
        return Figures(*(getattr(self, name) + getattr(other, name) for name in self.__dataclass_fields__))


@dataclass(frozen=True)
class Statement:
    manager: Manager
    month: date  # its first day
    lines: list[tuple[Account, Figures]]  # every managed 户号, by 户号

    @property
    def totals(self) -> Figures:
        return sum((figures for _, figures in self.lines), Figures())


def month_of(text: str) -> date:
    """``2026-11`` -> 2026-11-01; anything else is refused naming the field."""
    try:
        year, month = (int(part) for part in text.split("-"))
        if len(text) != 7 or not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValueError(text)
        return date(year, month, 1)
    except ValueError:
        raise InvalidInput("month", "a month as YYYY-MM, such as 2026-11") from None


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def statement(session: Session, manager: Manager, month: date) -> Statement:
    """The statement of ``month`` (its first day) for the manager's 户号 as managed today."""
    sums: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for side, sign in (("credit", 1), ("debit", -1)):
        for account_id, kind, amount in session.execute(_legs(side, manager.id, month)):
            sums[account_id][kind] += sign * int(amount)
            if kind == BY_MANAGER:
                sums[account_id][PAID] += sign * int(amount)
    accounts = session.scalars(select(Account).join(ManagerAccount, ManagerAccount.account_id == Account.id)
                               .where(ManagerAccount.manager_id == manager.id).order_by(Account.account_no))
    lines = [(account, _figures(sums.get(account.id, {}))) for account in accounts]
    return Statement(manager, month, lines)


def _figures(sums: dict[str, int]) -> Figures:
    return Figures(opening_fen=sums.get(OPENING, 0), billed_fen=-sums.get(BILLED, 0), paid_fen=sums.get(PAID, 0),
                   by_manager_fen=sums.get(BY_MANAGER, 0), other_fen=sums.get(OTHER, 0))


def _legs(side: str, manager_id: int, month: date):
    """Per 户号 and kind, the sum of the transfers on ``side`` (credit or debit) of its balance up to
    the month's end; everything before the month is the opening balance."""
    transfer, customer, counterpart = Transfer.__table__, aliased(LedgerAccount), aliased(LedgerAccount)
    other_side = "debit" if side == "credit" else "credit"
    kind = case(
        (transfer.c.business_date < month, literal(OPENING)),
        (counterpart.code.startswith("revenue:"), literal(BILLED)),
        (counterpart.code == manager_code(manager_id), literal(BY_MANAGER)),
        (transfer.c.code.in_(COLLECTION_CODES), literal(PAID)),
        else_=literal(OTHER))
    kinds = (select(customer.account_id, kind.label("kind"), transfer.c.amount_fen)
             .join(customer, customer.id == transfer.c[f"{side}_id"])
             .join(counterpart, counterpart.id == transfer.c[f"{other_side}_id"])
             .join(ManagerAccount, ManagerAccount.account_id == customer.account_id)
             .where(ManagerAccount.manager_id == manager_id, customer.code.startswith(customer_code("")),
                    transfer.c.business_date < next_month(month))).subquery()
    # Grouped outside: PostgreSQL would not match the CASE's bound parameters in a GROUP BY.
    return select(kinds.c.account_id, kinds.c.kind, func.sum(kinds.c.amount_fen)).group_by(kinds.c.account_id,
                                                                                           kinds.c.kind)
