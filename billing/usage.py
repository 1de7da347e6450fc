"""A 户号's use from its meter reads, by day, month and year, with the 尖峰平谷 split.

A read is the register at a day's 00:00 freeze, so the use between two consecutive valid reads of
the meter that served the account is the register delta times the multiplier (倍率), as the bill
run counts it (``billing.meters``).  Where reads are missing, the use between the reads on either
side is one stretch of several days, counted in the period (day, month, year) where it starts: the
periods always add up to the reads.  A period reports each 尖峰平谷 register only when every
stretch in it had it (a resident's 峰谷 meter has peak and valley only).

Each series is one Core query (reads joined with the installations that served the account) and a
pass in Python: a year of daily reads takes a few milliseconds (bench/usage.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from sqlalchemy import and_, bindparam, or_, select
from sqlmodel import Session

from billing.meters import MeterInstallation
from billing.reads import ESTIMATED, REGISTERS, VALID, Read

DAY, MONTH, YEAR = "day", "month", "year"
DAILY_DAYS = (30, 90)  # the windows the pages offer
MONTHS_SHOWN, YEARS_SHOWN = 14, 5

_READS, _SPANS = Read.__table__, MeterInstallation.__table__
_reads, _spans = _READS.c, _SPANS.c
_QUERY = (
    select(_spans.id, _spans.multiplier, _reads.read_on, _reads.source, _reads.total_wh,
           *(_reads[f"{name}_wh"] for name in REGISTERS))
    .select_from(_READS).join(_SPANS, and_(_spans.meter_id == _reads.meter_id, _reads.read_on >= _spans.installed_on,
                       or_(_spans.removed_on.is_(None), _reads.read_on <= _spans.removed_on)))
    .where(_spans.account_id == bindparam("account_id"), _reads.status == VALID,
           _reads.read_on >= bindparam("first"), _reads.read_on <= bindparam("last"))
    .order_by(_spans.installed_on, _spans.id, _reads.read_on)
)


@dataclass(frozen=True)
class Stretch:
    """The use between two consecutive reads of one installation: ``start`` up to (not including) ``end``."""

    start: date
    end: date
    wh: int
    registers_wh: dict[str, int]  # the 尖峰平谷 registers both reads have (none on a meter without them)
    estimated: bool


@dataclass(frozen=True)
class UsagePeriod:
    label: str  # 2026-11-26, 2026-11 or 2026
    start: date  # the first day whose use is counted
    end: date  # the last day whose use is counted (inclusive)
    wh: int
    sharp_wh: int | None
    peak_wh: int | None
    flat_wh: int | None
    valley_wh: int | None
    estimated: bool  # an estimated read went into it
    last_year_wh: int | None = None  # monthly series: the same month a year before, if measured

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def registers_wh(self) -> dict[str, int]:
        """The registers measured (peak and valley on a resident's 峰谷 meter; none on a plain one)."""
        return {name: wh for name in REGISTERS if (wh := getattr(self, f"{name}_wh")) is not None}


@dataclass(frozen=True)
class UsageSeries:
    granularity: str  # day | month | year
    periods: tuple[UsagePeriod, ...]  # oldest first

    @property
    def total_wh(self) -> int:
        return sum(period.wh for period in self.periods)

    @property
    def tou(self) -> bool:
        """Whether the periods have a 尖峰平谷 split."""
        return any(period.registers_wh for period in self.periods)


def stretches(session: Session, account_id: int, first: date, last: date) -> list[Stretch]:
    """The use between the valid reads of ``first..last`` (read days) on the meters that served the account."""
    rows = session.connection().execute(_QUERY, {"account_id": account_id, "first": first, "last": last}).all()
    found, previous = [], None
    for row in rows:
        span_id, multiplier, read_on, source, total_wh, *registers = row
        if previous is not None and previous[0] == span_id:
            _, before_on, before_source, before_total, *before = previous
            split = {name: (after - was) * multiplier for name, was, after in zip(REGISTERS, before, registers)
                     if was is not None and after is not None}
            found.append(Stretch(before_on, read_on, (total_wh - before_total) * multiplier, split,
                                 ESTIMATED in (source, before_source)))
        previous = (span_id, read_on, source, total_wh, *registers)
    return found


def daily_usage(session: Session, account_id: int, *, on: date, days: int = DAILY_DAYS[0]) -> UsageSeries:
    """The use of each of the ``days`` days before ``on`` (today's freeze ends yesterday's use)."""
    first = on - timedelta(days=days)
    found = [s for s in stretches(session, account_id, first, on) if s.start >= first]
    return UsageSeries(DAY, tuple(_periods(found, lambda day: day.isoformat())))


def monthly_usage(session: Session, account_id: int, *, on: date, months: int = MONTHS_SHOWN) -> UsageSeries:
    """The use of the last ``months`` calendar months (this one so far), each beside the same month a year before."""
    first = _month_start(on, months - 1)
    found = stretches(session, account_id, _month_start(first, 12), on)
    every = {period.label: period for period in _periods(found, lambda day: f"{day:%Y-%m}")}
    shown = [period for label, period in every.items() if label >= f"{first:%Y-%m}"]
    return UsageSeries(MONTH, tuple(_with_last_year(period, every) for period in shown))


def yearly_usage(session: Session, account_id: int, *, on: date, years: int = YEARS_SHOWN) -> UsageSeries:
    """The use of the last ``years`` calendar years (this one so far)."""
    found = stretches(session, account_id, date(on.year - years + 1, 1, 1), on)
    return UsageSeries(YEAR, tuple(_periods(found, lambda day: str(day.year))))


def total(found: Iterable[Stretch]) -> tuple[int, dict[str, int]]:
    """The Wh of the stretches and their 尖峰平谷 split: the registers every stretch has."""
    wh, registers, first = 0, {}, True
    for stretch in found:
        wh += stretch.wh
        if first:
            registers, first = dict(stretch.registers_wh), False
            continue
        for name in list(registers):
            if name in stretch.registers_wh:
                registers[name] += stretch.registers_wh[name]
            else:
                del registers[name]
    return wh, registers


def _periods(found: list[Stretch], label_of: Callable[[date], str]) -> list[UsagePeriod]:
    """The stretches summed by the period their first day falls in (one pass: a year of days is 365 groups)."""
    groups: dict[str, list[Stretch]] = {}
    for stretch in found:
        label = label_of(stretch.start)
        group = groups.get(label)
        if group is None:
            groups[label] = [stretch]
        else:
            group.append(stretch)
    periods = []
    for label in sorted(groups):
        group = groups[label]
        wh, registers = total(group) if len(group) > 1 else (group[0].wh, group[0].registers_wh)
        periods.append(UsagePeriod(label, min(s.start for s in group), max(s.end for s in group) - timedelta(days=1),
                                   wh, *(registers.get(name) for name in REGISTERS),
                                   any(s.estimated for s in group)))
    return periods


def _with_last_year(period: UsagePeriod, every: dict[str, UsagePeriod]) -> UsagePeriod:
    year, month = period.label.split("-")
    before = every.get(f"{int(year) - 1}-{month}")
    return period if before is None else replace(period, last_year_wh=before.wh)


def _month_start(day: date, back: int) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)
