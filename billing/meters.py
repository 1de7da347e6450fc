"""Which meter served an account when, with which multiplier (倍率), and the energy it measured.

An account's meter can be replaced (换表) or its multiplier changed (a new current transformer) on a
day; each such span is a ``MeterInstallation``.  At a change the old meter's final read and the new
meter's initial read are both recorded on that day, so the energy of any period is the sum, over
the installations that served it, of the register delta times the multiplier: energy across the
change is counted on both meters, once each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index, text
from sqlmodel import Field, Session, SQLModel, select

from billing.errors import BillingError
from billing.reads import REGISTERS, VALID, Read

_OPEN_ONLY = text("removed_on IS NULL")


class MeterInstallation(SQLModel, table=True):
    __tablename__ = "meter_installation"
    __table_args__ = (
        CheckConstraint("multiplier >= 1", name="multiplier_positive"),
        CheckConstraint("removed_on IS NULL OR removed_on >= installed_on", name="removed_after_installed"),
        Index("uq_meter_installation_open", "account_id", unique=True, sqlite_where=_OPEN_ONLY,
              postgresql_where=_OPEN_ONLY),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    meter_id: int = Field(foreign_key="meter.id", index=True)
    multiplier: int = 1
    installed_on: date
    removed_on: date | None = None
    reason: str = Field(default="", max_length=200)
    recorded_by: int | None = Field(default=None, foreign_key="staff_user.id")
    recorded_at: datetime


class ReadMissing(BillingError):
    """A period boundary has no valid read: estimate it or read the meter."""

    code = "read_missing"


@dataclass(frozen=True)
class Energy:
    """Energy over a period, in Wh: the total, the 尖峰平谷 split (TOU meters only), and whether an
    estimated read went into it."""

    total_wh: int
    registers_wh: dict[str, int] = field(default_factory=dict)
    estimated: bool = False


def installations(session: Session, account_id: int) -> list[MeterInstallation]:
    return list(session.exec(select(MeterInstallation).where(MeterInstallation.account_id == account_id)
                             .order_by(MeterInstallation.installed_on, MeterInstallation.id)))


def install(session: Session, *, account_id: int, meter_id: int, multiplier: int, on: date, now: datetime,
            reason: str = "", staff_id: int | None = None) -> MeterInstallation:
    installation = MeterInstallation(account_id=account_id, meter_id=meter_id, multiplier=multiplier,
                                     installed_on=on, reason=reason[:200], recorded_by=staff_id, recorded_at=now)
    session.add(installation)
    session.flush()
    return installation


def valid_read(session: Session, meter_id: int, day: date) -> Read | None:
    return session.exec(select(Read).where(Read.meter_id == meter_id, Read.read_on == day, Read.status == VALID)).first()


def energy(session: Session, account_id: int, start: date, end: date) -> Energy:
    """Energy used in [start, end) (00:00 freeze of ``start`` to that of ``end``)."""
    return measure(installations(session, account_id), lambda meter_id, day: valid_read(session, meter_id, day),
                   start, end)


_REGISTER_COLUMNS = tuple((name, f"{name}_wh") for name in REGISTERS)


def measure(spans: Iterable, read_on: Callable[[int, date], Read | None], start: date, end: date) -> Energy:
    """``energy`` from given installations (anything with meter_id, multiplier, installed_on and
    removed_on, in installation order) and their valid reads, ``read_on(meter_id, day)``: the bill
    run loads both for a chunk of accounts at once."""
    total, registers, estimated = 0, {}, False
    for installation in spans:
        first = max(start, installation.installed_on)
        last = min(end, installation.removed_on) if installation.removed_on else end
        if first >= last:
            continue
        begin, finish = _boundary(read_on, installation, first), _boundary(read_on, installation, last)
        total += (finish.total_wh - begin.total_wh) * installation.multiplier
        for name, column in _REGISTER_COLUMNS:
            before, after = getattr(begin, column), getattr(finish, column)
            if before is not None and after is not None:
                registers[name] = registers.get(name, 0) + (after - before) * installation.multiplier
        estimated = estimated or "estimated" in (begin.source, finish.source)
    return Energy(total, registers, estimated)


def _boundary(read_on: Callable[[int, date], Read | None], installation: MeterInstallation, day: date) -> Read:
    read = read_on(installation.meter_id, day)
    if read is None:
        raise ReadMissing(f"meter {installation.meter_id} has no read on {day}", field="read_on",
                          meter_id=installation.meter_id, day=day.isoformat())
    return read
