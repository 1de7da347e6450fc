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

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, Text, text
from sqlmodel import Field, Session, SQLModel, select

from billing.errors import BillingError

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
_HAS_READER = text("reader_id IS NOT NULL")


class Read(SQLModel, table=True):
    __tablename__ = "meter_read"
    __table_args__ = (
        CheckConstraint("source IN ('ami', 'manual', 'estimated', 'corrected')", name="source"),
        CheckConstraint("status IN ('valid', 'superseded')", name="status"),
        CheckConstraint("total_wh >= 0", name="total_non_negative"),
        Index("uq_meter_read_valid_day", "meter_id", "read_on", unique=True,
              sqlite_where=_VALID_ONLY, postgresql_where=_VALID_ONLY),
        Index("ix_meter_read_meter_id_read_on", "meter_id", "read_on"),
        # A meter's newest read in one index probe: it stands for all its reads in the home page's
        # fingerprint (billing.account_summary), which every visit asks for.
        Index("ix_meter_read_meter_id_id", "meter_id", "id"),
        # Error assessment counts each reader's reads by month (AMI reads have no reader).
        Index("ix_meter_read_reader_id_read_on", "reader_id", "read_on", sqlite_where=_HAS_READER,
              postgresql_where=_HAS_READER),
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


class ReadConflict(BillingError):
    """A meter already has a different valid read on that day: a person must decide which is right."""

    code = "read_conflict"


@dataclass(frozen=True)
class NewRead:
    """A read as it arrives (from a reader's phone, a reviewer's correction, an estimate)."""

    meter_id: int
    read_on: date
    source: str
    total_wh: int
    registers_wh: dict[str, int] = field(default_factory=dict)  # sharp/peak/flat/valley, TOU meters only
    reader_id: int | None = None
    method: str | None = None
    note: str = ""
    photo: str | None = None

    def same_values(self, read: Read) -> bool:
        return (self.total_wh, *(self.registers_wh.get(name) for name in REGISTERS)) == (
            read.total_wh, *(getattr(read, f"{name}_wh") for name in REGISTERS))


def record_read(session: Session, new: NewRead, *, now: datetime, replace: bool = False) -> tuple[Read, str]:
    """Record one read; returns (the valid read, what happened).

    ``created``: no read that day.  ``duplicate``: the same values are already held.  ``superseded``:
    it replaced an estimate (the difference is carried to the next bill) or, with ``replace`` (a
    reviewer's correction), whatever was there.  A different read already there otherwise raises
    ``ReadConflict``: two people disagree, and neither is silently kept."""
    held = session.exec(select(Read).where(Read.meter_id == new.meter_id, Read.read_on == new.read_on,
                                           Read.status == VALID)).first()
    if held is not None and new.same_values(held) and not replace:
        return held, "duplicate"
    if held is not None and held.source != ESTIMATED and not replace:
        raise ReadConflict(f"meter {new.meter_id} already has another read on {new.read_on}", field="total_wh",
                           held_wh=held.total_wh)
    if held is not None:
        held.status = SUPERSEDED
        session.add(held)
        session.flush()  # the partial unique index admits the new valid read only now
    read = Read(meter_id=new.meter_id, read_on=new.read_on, source=new.source, total_wh=new.total_wh,
                reader_id=new.reader_id, received_at=now, method=new.method, note=new.note[:200], photo=new.photo,
                supersedes_id=held.id if held else None,
                **{f"{name}_wh": new.registers_wh.get(name) for name in REGISTERS})
    session.add(read)
    session.flush()
    if held is not None and held.source == ESTIMATED:
        _carry(session, held, read, now)
    return read, "created" if held is None else "superseded"


def _carry(session: Session, estimate: Read, actual: Read, now: datetime) -> None:
    """The energy an estimate got wrong, for the account the meter served that day."""
    from billing.meters import MeterInstallation  # meters builds on reads

    installation = session.exec(select(MeterInstallation).where(
        MeterInstallation.meter_id == actual.meter_id, MeterInstallation.installed_on <= actual.read_on,
        (MeterInstallation.removed_on.is_(None)) | (MeterInstallation.removed_on >= actual.read_on),
    ).order_by(MeterInstallation.installed_on.desc())).first()
    if installation is None:  # a district supply meter: no bill to carry it into
        return
    session.add(EstimateCarry(account_id=installation.account_id, estimated_read_id=estimate.id,
                              actual_read_id=actual.id, created_at=now,
                              difference_wh=(actual.total_wh - estimate.total_wh) * installation.multiplier))
    session.flush()
