"""The daily settlement's own ledger: one row per prepaid account and day it charged, written in
the same transaction as the day's transfer, so a rerun (after a crash, or on purpose) skips exactly
what is done.

``energy_wh`` is the day's use as charged: later days of the year (or month, for monthly tiers) sum
it to know where the account stands in its tiers.  ``lines`` is the day's priced lines as JSON
(kind, wh, price, amount), for the month's statement; ``year_lines`` the year's Wh per priced line
after it (``kind@price``), from which the next charge carries the year's rounding; ``charge_no``
counts the account's rows of the year in the order they were charged (a missing day charged late
comes after the days charged meanwhile), so the next charge finds the latest carry.  A day charged
0 fen (no use) has no transfer.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Text
from sqlmodel import Field, SQLModel


class DailySettlement(SQLModel, table=True):
    __tablename__ = "daily_settlement"
    __table_args__ = (
        CheckConstraint("energy_wh >= 0 AND amount_fen >= 0", name="not_negative"),
        CheckConstraint("(amount_fen = 0) = (transfer_id IS NULL)", name="transfer_when_charged"),
    )

    account_id: int = Field(primary_key=True, foreign_key="account.id")
    day: date = Field(primary_key=True, index=True)
    energy_wh: int = Field(sa_type=BigInteger)
    amount_fen: int = Field(sa_type=BigInteger)
    transfer_id: int | None = Field(default=None, foreign_key="ledger_transfer.id", unique=True)
    lines: str = Field(default="[]", sa_type=Text)
    charge_no: int
    year_lines: str = Field(default="{}", sa_type=Text)
    created_at: datetime
