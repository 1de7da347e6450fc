"""Synthetic meter reads for the demo county: a believable year of electricity use.

Daily use follows the county's seasons (a summer air-conditioning peak around late July, a smaller
heating peak in January), weekdays differ from weekends for shops and workshops, and every meter
has its own size and noise.  Registers are cumulative and in register units (energy / 倍率), with
time-of-use registers that always add up to the total.  The district meter sees the sum of its
customers plus the line loss.  Everything derives from the seeded ``random.Random`` handed in.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from billing.reads import AMI, MANUAL_READ

# Share of energy per TOU register, in percent: residential 峰谷, business 尖峰平谷.
RESIDENTIAL_SHARES = {"peak": 62, "valley": 38}
BUSINESS_SHARES = {"sharp": 10, "peak": 35, "flat": 30, "valley": 25}


@dataclass
class SyntheticMeter:
    meter_id: int
    district_index: int
    daily_kwh: float
    multiplier: int = 1
    shares: dict[str, int] = field(default_factory=dict)  # empty: total register only
    manual: bool = False
    weekday_only: bool = False


def season_factor(day: date) -> float:
    """1.0 in spring and autumn, about 1.6 at the end of July, about 1.4 in mid January."""
    doy = day.timetuple().tm_yday

    def bump(centre: int, width: float) -> float:
        distance = min(abs(doy - centre), 365 - abs(doy - centre))
        return math.exp(-((distance / width) ** 2))

    return 1.0 + 0.6 * bump(205, 28) + 0.4 * bump(15, 30)


def day_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


class Calendar:
    """The days of the demo and each day's use factor, computed once for every meter."""

    def __init__(self, days: list[date]) -> None:
        self.days = days
        self.iso = [day.isoformat() for day in days]
        self.everyday = [season_factor(day) for day in days]
        self.weekdays = [f * (0.6 if day.weekday() >= 5 else 1.0) for f, day in zip(self.everyday, days)]
        self.first_of_month = [day.day == 1 for day in days]


def meter_rows(
    meter: SyntheticMeter, calendar: Calendar, rng: random.Random, received: str, reader_id: int | None
) -> tuple[list[tuple], list[int]]:
    """Read rows for one meter, and its daily energy in Wh (for the district meter's sum)."""
    factors = calendar.weekdays if meter.weekday_only else calendar.everyday
    scale = meter.daily_kwh * 1000
    registers = {name: rng.randrange(0, 2_000_000) for name in meter.shares}
    total = sum(registers.values()) if registers else rng.randrange(0, 5_000_000)
    shares = list(meter.shares.items())
    source, reader = (MANUAL_READ, reader_id) if meter.manual else (AMI, None)
    rows, daily_wh = [], []
    for n, factor in enumerate(factors):
        step = int(scale * factor * (0.75 + 0.5 * rng.random())) // meter.multiplier
        used = 0
        for name, percent in shares[:-1]:
            part = step * percent // 100
            registers[name] += part
            used += part
        if shares:
            registers[shares[-1][0]] += step - used
        total += step
        daily_wh.append(step * meter.multiplier)
        if meter.manual and not calendar.first_of_month[n]:
            continue
        get = registers.get
        rows.append((meter.meter_id, calendar.iso[n], source, total, get("sharp"), get("peak"), get("flat"), get("valley"), reader, received))
    return rows, daily_wh


def district_rows(
    meter_id: int, multiplier: int, daily_wh: list[int], loss_permille: int, calendar: Calendar, received: str
) -> Iterator[tuple]:
    """The supply meter of a district: its customers' use plus the line loss."""
    total = 0
    for day, used in zip(calendar.iso, daily_wh):
        total += used * 1000 // (1000 - loss_permille) // multiplier
        yield (meter_id, day, AMI, total, None, None, None, None, None, received)
