"""The tables of bills on the ledger: bills, their lines, the bill numbers of each year, and the
allocation rows that say which credit paid which bill.

They sit apart from ``billing.bills`` (the lifecycle) and ``billing.allocation`` (who paid what)
because each of those reads the other's tables.

A bill is ``held`` (waiting for review, no number yet), ``issued`` (numbered, posted to the ledger
as one ``bill:<id>`` transfer) or ``cancelled`` (reversed by ``bill-cancel:<id>``).  Numbers are
given at issue, so the issued bills of a year are numbered without gaps.

Allocation rows are append-only like transfers: a row that no longer holds is reversed by a row
of the opposite amount that names it (``reverses_id``, at most once), never updated or deleted.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

HELD, ISSUED, CANCELLED = "held", "issued", "cancelled"


class Bill(SQLModel, table=True):
    __tablename__ = "bill"
    __table_args__ = (
        CheckConstraint("state IN ('held', 'issued', 'cancelled')", name="state"),
        CheckConstraint("period_end >= period_start", name="period_ordered"),
        CheckConstraint("state <> 'issued' OR (number IS NOT NULL AND issue_date IS NOT NULL)", name="issued_numbered"),
        CheckConstraint("issue_date IS NULL OR due_date >= issue_date", name="due_after_issue"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str | None = Field(default=None, max_length=20, unique=True)  # 2026-000001, given at issue
    account_id: int = Field(foreign_key="account.id", index=True)
    period_start: date
    period_end: date
    issue_date: date | None = None
    due_date: date
    state: str = Field(default=HELD, max_length=10, index=True)
    total_fen: int = Field(sa_type=BigInteger)
    replaces_bill_id: int | None = Field(default=None, foreign_key="bill.id", unique=True)  # a rebill's cancelled bill
    transfer_id: int | None = Field(default=None, foreign_key="ledger_transfer.id", unique=True)
    cancel_transfer_id: int | None = Field(default=None, foreign_key="ledger_transfer.id", unique=True)
    created_at: datetime
    created_by: int | None = Field(default=None, foreign_key="staff_user.id")  # None: the bill run
    issued_at: datetime | None = None
    issued_by: int | None = Field(default=None, foreign_key="staff_user.id")
    cancelled_at: datetime | None = None
    cancelled_by: int | None = Field(default=None, foreign_key="staff_user.id")
    cancel_reason: str = Field(default="", max_length=400)


class BillLine(SQLModel, table=True):
    """One line of a bill: a tier, a TOU slot, a surcharge, a basic charge, a late fee ...

    ``description_key`` is a translation key; energy lines carry their kWh (as Wh) and exact price,
    and ``amount_fen`` is their product rounded half-up once."""

    __tablename__ = "bill_line"
    __table_args__ = (UniqueConstraint("bill_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    bill_id: int = Field(foreign_key="bill.id", index=True)
    position: int
    kind: str = Field(max_length=40)  # pricing's kinds: tier_2, peak, surcharge:reservoir_resettlement ...
    description_key: str = Field(max_length=80)
    energy_wh: int | None = Field(default=None, sa_type=BigInteger)
    unit_price_millifen_per_kwh: int | None = Field(default=None, sa_type=BigInteger)
    amount_fen: int = Field(sa_type=BigInteger)


class BillSequence(SQLModel, table=True):
    """The last bill number given in a year (its row is locked while a bill is numbered)."""

    __tablename__ = "bill_sequence"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_no: int = 0


class Allocation(SQLModel, table=True):
    """``amount_fen`` of a credit (a payment, an opening credit ...) went to something owed: a bill,
    or another debit of the balance (a refund takes back unallocated credit; a debit no credit
    covered is owed like a bill).  ``paid_on`` is the Beijing day the two met."""

    __tablename__ = "allocation"
    __table_args__ = (
        CheckConstraint("(reverses_id IS NULL AND amount_fen > 0) OR (reverses_id IS NOT NULL AND amount_fen < 0)",
                        name="reversal_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    credit_transfer_id: int = Field(foreign_key="ledger_transfer.id", index=True)
    debit_transfer_id: int = Field(foreign_key="ledger_transfer.id", index=True)
    bill_id: int | None = Field(default=None, foreign_key="bill.id", index=True)
    amount_fen: int = Field(sa_type=BigInteger)
    paid_on: date
    at: datetime
    reverses_id: int | None = Field(default=None, foreign_key="allocation.id", unique=True)
