"""Time as a dependency: code below the portal is handed a clock instead of reading the system's.

Instants are aware UTC datetimes (SQLModel refuses naive ones); business dates (read days, due
dates) are dates in Beijing time, where the county lives and what the channels stamp records with.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def to_beijing(instant: datetime) -> datetime:
    """An instant as Beijing time, for display and for channels that want local time."""
    return instant.astimezone(BEIJING)


def beijing_date(instant: datetime) -> date:
    return to_beijing(instant).date()


def beijing_minute(instant: datetime) -> str:
    """An instant as residents read it in a message: ``2027-01-08 09:00`` Beijing."""
    return to_beijing(instant).strftime("%Y-%m-%d %H:%M")


def from_beijing(local: datetime) -> datetime:
    """Naive Beijing wall time (as the channels send it) -> aware UTC."""
    return local.replace(tzinfo=BEIJING).astimezone(UTC)


class FixedClock:
    """A clock that only moves when told to: for tests, benchmarks and deterministic demos."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now
