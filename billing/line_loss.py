"""台区 line loss: (supply - the sum of its customers' meters) / supply, per district, day and month.

A negative loss means a metering or topology error (a customer on the wrong district, a stopped
supply meter); each figure says whether an estimated read went into it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint
from sqlmodel import Field, SQLModel

DAY, MONTH = "day", "month"


class DistrictLoss(SQLModel, table=True):
    __tablename__ = "district_loss"
    __table_args__ = (CheckConstraint("period IN ('day', 'month')", name="period"),)

    district_id: int = Field(foreign_key="district.id", primary_key=True)
    period: str = Field(max_length=5, primary_key=True)
    starts_on: date = Field(primary_key=True)
    supply_wh: int = Field(sa_type=BigInteger)
    customers_wh: int = Field(sa_type=BigInteger)
    loss_wh: int = Field(sa_type=BigInteger)  # supply - customers; negative is a finding
    estimated: bool = False
    complete: bool = True  # every meter of the district had its reads
    computed_at: datetime
