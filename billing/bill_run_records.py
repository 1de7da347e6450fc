"""The bill run's own ledger: one row per account and period it billed, written in the same
transaction as the bill, so a rerun (after a crash, or on purpose) skips exactly what is done.

``energy_wh`` is the period's use as billed: the next periods of the year sum it for annual tiers.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint
from sqlmodel import Field, SQLModel

RUN_ISSUED, RUN_HELD = "issued", "held"


class BillRunAccount(SQLModel, table=True):
    __tablename__ = "bill_run_account"
    __table_args__ = (CheckConstraint("outcome IN ('issued', 'held')", name="outcome"),)

    period_start: date = Field(primary_key=True)
    account_id: int = Field(primary_key=True, foreign_key="account.id", index=True)
    bill_id: int = Field(foreign_key="bill.id", unique=True)
    outcome: str = Field(max_length=10)
    energy_wh: int = Field(sa_type=BigInteger)
    created_at: datetime
