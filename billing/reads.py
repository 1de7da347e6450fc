"""Meter reads (抄表): cumulative register values in Wh, one row per meter, day and source.

A read carries the total register and, for time-of-use meters, the 尖峰平谷 registers (sharp, peak,
flat, valley).  Energy over a period is the register delta times the meter's multiplier (倍率).
Sources: ``ami`` (smart meter, daily), ``manual`` (a reader's visit), ``estimated``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

AMI, MANUAL_READ, ESTIMATED = "ami", "manual", "estimated"


def _register():
    return Field(default=None, sa_type=BigInteger)


class Read(SQLModel, table=True):
    __tablename__ = "meter_read"
    __table_args__ = (
        UniqueConstraint("meter_id", "read_on", "source"),
        CheckConstraint("source IN ('ami', 'manual', 'estimated')", name="source"),
        CheckConstraint("total_wh >= 0", name="total_non_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meter_id: int = Field(foreign_key="meter.id")
    read_on: date
    source: str = Field(max_length=10)
    total_wh: int = Field(sa_type=BigInteger)
    sharp_wh: int | None = _register()
    peak_wh: int | None = _register()
    flat_wh: int | None = _register()
    valley_wh: int | None = _register()
    reader_id: int | None = Field(default=None, foreign_key="staff_user.id")
    received_at: datetime


READ_COLUMNS = (
    "meter_id", "read_on", "source", "total_wh", "sharp_wh", "peak_wh", "flat_wh", "valley_wh", "reader_id", "received_at",
)
