"""Hand-built reads for the rule, meter-change and line-loss tests: accounts opened well before the
fixed clock's day (2026-11-27), reads written through ``record_read`` like any other."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from billing.accounts import Account
from billing.reads import AMI, NewRead, Read, record_read
from tests import factories

OPENED = datetime(2025, 9, 1, 2, 0, tzinfo=UTC)  # the test accounts' first day: 2025-09-01
TODAY = date(2026, 11, 27)
DAY = timedelta(days=1)


def old_account(db, *, status: str | None = None, **fields) -> Account:
    account = factories.account(db, at=OPENED, **fields)
    if status is not None:
        account.status = status
        db.add(account)
        db.flush()
    return account


def reads(db, meter_id: int, first: date, totals: list[int], clock, *, source: str = AMI, step: int = 1,
          registers: list[dict] | None = None) -> list[Read]:
    """One read per ``step`` days from ``first``, with these totals (Wh)."""
    made = []
    for n, total in enumerate(totals):
        extra = registers[n] if registers else {}
        made.append(record_read(db, NewRead(meter_id, first + n * step * DAY, source, total, extra), now=clock())[0])
    return made


def steady(start_wh: int, daily_wh: int, days: int) -> list[int]:
    return [start_wh + n * daily_wh for n in range(days)]
