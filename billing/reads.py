"""Meter reads (抄表): cumulative register values in Wh, one valid read per meter and day.

A read carries the total register and, for time-of-use meters, the 尖峰平谷 registers (sharp, peak,
flat, valley).  ``read_on`` is the day of the 00:00 (Beijing) freeze: the register at the start of
that day, so a day's use is the next day's read minus its own.  Energy over a period is the
register delta times the installation's multiplier (倍率, ``billing.meters``).

Sources: ``ami`` (smart meter, daily), ``manual`` (a reader's visit), ``estimated`` (computed for a
missing read, with its ``method``), ``corrected`` (a reviewer's correction, with a reason).  A
read is never edited: a correction or the actual read that replaces an estimate is a new read, and
the one it replaces becomes ``superseded`` (``supersedes_id`` links them).  The database keeps one
``valid`` read per meter and day.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, Text, text
from sqlmodel import Field, SQLModel

AMI, MANUAL_READ, ESTIMATED, CORRECTED = "ami", "manual", "estimated", "corrected"
SOURCES = (AMI, MANUAL_READ, ESTIMATED, CORRECTED)
VALID, SUPERSEDED = "valid", "superseded"
REGISTERS = ("sharp", "peak", "flat", "valley")  # 尖峰平谷


def _register():
    return Field(default=None, sa_type=BigInteger)


class ReadBatch(SQLModel, table=True):
    """One imported file: what it held, who ran it, and what became of its rows."""

    __tablename__ = "read_batch"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="ami", max_length=10)
    filename: str = Field(max_length=200)
    sha256: str = Field(max_length=64, unique=True)
    rows_total: int = 0
    rows_written: int = 0
    rows_duplicate: int = 0  # already held with the same values
    rows_bad: int = 0
    imported_by: str = Field(max_length=100)
    imported_at: datetime
    report: str = Field(default="", sa_type=Text)  # the bad lines and why, one per line


_VALID_ONLY = text("status = 'valid'")


class Read(SQLModel, table=True):
    __tablename__ = "meter_read"
    __table_args__ = (
        CheckConstraint("source IN ('ami', 'manual', 'estimated', 'corrected')", name="source"),
        CheckConstraint("status IN ('valid', 'superseded')", name="status"),
        CheckConstraint("total_wh >= 0", name="total_non_negative"),
        Index("uq_meter_read_valid_day", "meter_id", "read_on", unique=True,
              sqlite_where=_VALID_ONLY, postgresql_where=_VALID_ONLY),
        Index("ix_meter_read_meter_id_read_on", "meter_id", "read_on"),
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
    # Server defaults too: the bulk paths (imports, the demo) insert rows without naming these.
    status: str = Field(default=VALID, max_length=10, sa_column_kwargs={"server_default": VALID})
    batch_id: int | None = Field(default=None, foreign_key="read_batch.id", index=True)
    method: str | None = Field(default=None, max_length=40)  # how an estimate was made
    note: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})  # reader's or reviewer's reason
    photo: str | None = Field(default=None, max_length=200)  # evidence, relative to the instance folder
    supersedes_id: int | None = Field(default=None, foreign_key="meter_read.id")


READ_COLUMNS = (
    "meter_id", "read_on", "source", "total_wh", "sharp_wh", "peak_wh", "flat_wh", "valley_wh", "reader_id", "received_at",
)


class EstimateCarry(SQLModel, table=True):
    """The difference between an estimate and the actual read that superseded it: billed on an
    estimate, the account's next bill carries it, visibly, as its own line."""

    __tablename__ = "estimate_carry"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    estimated_read_id: int = Field(foreign_key="meter_read.id", unique=True)
    actual_read_id: int = Field(foreign_key="meter_read.id")
    difference_wh: int = Field(sa_type=BigInteger)  # actual energy - estimated energy (may be negative)
    created_at: datetime
    carried_on_bill_id: int | None = None  # set by the bill run that carries it
