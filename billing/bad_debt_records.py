"""The tables of 坏账 and 核销: an account's debt marked bad by the collections desk, and the
requests to write it off, each decided by a second person.

    bad_debt:  marked -> written_off -> recovered     (marked -> paid when the holder pays first)
    write-off: requested -> approved | rejected       (asked again after a rejection: a new row)

The marked and written-off states hold the dunning ladder for the account.  What was written off
and what was recovered later are ledger transfers (``bad-debt:<write-off id>`` and
``bad-debt-recovery:<payment transfer id>``), read back from the ledger rather than cached here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, select
from sqlmodel import Field, Session, SQLModel

from billing.four_eyes import APPROVED, REJECTED, REQUESTED, FourEyes, checks

MARKED, WRITTEN_OFF, RECOVERED, PAID = "marked", "written_off", "recovered", "paid"
HOLDING = (MARKED, WRITTEN_OFF)  # states that keep the ladder away from the account
MAX_REASON = 400
__all__ = ["APPROVED", "BadDebt", "BadDebtWriteOff", "HOLDING", "MARKED", "MAX_REASON", "PAID", "RECOVERED",
           "REJECTED", "REQUESTED", "WRITTEN_OFF", "held_accounts"]


class BadDebt(SQLModel, table=True):
    __tablename__ = "bad_debt"
    __table_args__ = (
        CheckConstraint("state IN ('marked', 'written_off', 'recovered', 'paid')", name="state"),
        CheckConstraint("owed_fen > 0", name="owed_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    state: str = Field(default=MARKED, max_length=12, index=True)
    owed_fen: int = Field(sa_type=BigInteger)  # the arrears when it was marked
    reason: str = Field(max_length=MAX_REASON)
    marked_by: int = Field(foreign_key="staff_user.id")
    marked_at: datetime
    ended_at: datetime | None = None  # paid or fully recovered


class BadDebtWriteOff(FourEyes, table=True):
    __tablename__ = "bad_debt_write_off"
    __table_args__ = (
        CheckConstraint("requested_fen > 0", name="requested_positive"),
        CheckConstraint("amount_fen IS NULL OR amount_fen > 0", name="amount_positive"),
        *checks(),
        CheckConstraint("status <> 'approved' OR transfer_id IS NOT NULL", name="approved_posted"),
    )

    id: int | None = Field(default=None, primary_key=True)
    bad_debt_id: int = Field(foreign_key="bad_debt.id", index=True)
    requested_fen: int = Field(sa_type=BigInteger)  # the arrears when it was asked for
    amount_fen: int | None = Field(default=None, sa_type=BigInteger)  # written off on approval: the arrears then
    reason: str = Field(max_length=MAX_REASON)
    transfer_id: int | None = Field(default=None, foreign_key="ledger_transfer.id", unique=True)

def held_accounts(session: Session) -> set[int]:
    """Accounts whose debt is marked bad or written off: the dunning ladder leaves them alone."""
    return set(session.execute(select(BadDebt.account_id).where(BadDebt.state.in_(HOLDING))).scalars())
