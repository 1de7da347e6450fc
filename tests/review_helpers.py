"""Test data for the review queue: a meter with a run of daily reads, a finding about one of them,
and the staff who act on it (through the same functions production uses)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import select

from billing.accounts import Account
from billing.meters import MeterInstallation
from billing.reads import MANUAL_READ, NewRead, Read, record_read
from billing.review import READ_FINDING, open_item
from billing.staff import add_staff
from tests import factories

FIRST = date(2026, 11, 1)
DAILY_WH = 10_000  # 10 kWh a day


@dataclass
class Metered:
    account: Account
    reads: dict[date, Read]

    def on(self, day_number: int) -> Read:
        return self.reads[FIRST + timedelta(days=day_number)]


def staff(db) -> dict[str, int]:
    """One reviewer, two readers and an admin, by user name."""
    people = {"reviewer1": ["reviewer"], "reviewer2": ["reviewer"], "reader1": ["reader"], "reader2": ["reader"],
              "admin1": ["admin"]}
    return {name: add_staff(db, username=name, name=name, password="demo1234", roles=roles).id
            for name, roles in people.items()}


def metered(db, clock, *, days: int = 20, reader_id: int | None = None, registers: bool = False,
            skip: tuple[int, ...] = (), misread: dict[int, int] | None = None, **fields) -> Metered:
    """An account whose meter was read every day from ``FIRST`` (10 kWh a day, 峰/谷 60/40 if
    ``registers``), by ``reader_id`` by hand, or by the head end without one; ``misread`` adds Wh
    to the total of some days (by day number), as a slip of the eye would."""
    account = factories.account(db, at=clock(), **fields)
    opening = db.exec(select(MeterInstallation).where(MeterInstallation.account_id == account.id)).one()
    account.opened_on = opening.installed_on = FIRST  # the account was there before its reads
    db.add_all([account, opening])
    reads = {}
    for n in range(days):
        if n in skip:
            continue
        total = 1_000_000 + n * DAILY_WH + (misread or {}).get(n, 0)
        split = {"peak": total - 400_000 - n * 4_000, "valley": 400_000 + n * 4_000} if registers else {}
        read, _ = record_read(db, NewRead(account.meter_id, FIRST + timedelta(days=n), MANUAL_READ if reader_id else "ami",
                                          total, split, reader_id=reader_id), now=clock())
        reads[read.read_on] = read
    return Metered(account, reads)


def finding(db, clock, subject: Metered, day_number: int, rule: str = "high_use", **detail) -> int:
    read = subject.on(day_number)
    return open_item(db, kind=READ_FINDING, rule=rule, subject_on=read.read_on, at=clock(), detail=detail or None,
                     account_id=subject.account.id, meter_id=subject.account.meter_id, read_id=read.id)
