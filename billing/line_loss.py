"""台区 line loss: (supply - the sum of its customers' meters) / supply, per district, day and month.

A figure for a day of use D needs the reads of D and D+1 (the 00:00 freezes around it); a month's
needs the reads of its 1st and of the next month's 1st.  A figure says whether an estimated read
went into it and whether it is complete (every customer meter had its reads; a manual meter read
once a month leaves the daily figures of its district incomplete).  Computing again replaces the
figures of those days and months.  A negative loss (a metering or topology error: a customer on
the wrong district, a supply meter under-reading) and, on complete figures, a loss above the
threshold open review items: one a month, and one per spell of days, on the day it began.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import BigInteger, CheckConstraint, and_, delete, insert, or_
from sqlmodel import Field, Session, SQLModel

from billing.clock import beijing_date
from billing.errors import InvalidInput
from billing.money import round_half_up
from billing.read_history import Series, account_series, district_chunks, district_series, energy_over
from billing.review import READ_FINDING, open_item

DAY, MONTH = "day", "month"
LOSS_NEGATIVE, LOSS_HIGH = "loss_negative", "loss_high"
LOSS_NEGATIVE_MONTH, LOSS_HIGH_MONTH = "loss_negative_month", "loss_high_month"
RULES_BY_PERIOD = {DAY: (LOSS_NEGATIVE, LOSS_HIGH), MONTH: (LOSS_NEGATIVE_MONTH, LOSS_HIGH_MONTH)}


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


@dataclass(frozen=True)
class Period:
    period: str
    start: date
    end: date  # exclusive: the day of the closing read


@dataclass(frozen=True)
class Figure:
    """A computed figure, before it becomes a ``DistrictLoss`` row (rows are written in bulk)."""

    district_id: int
    period: str
    starts_on: date
    supply_wh: int
    customers_wh: int
    loss_wh: int
    estimated: bool
    complete: bool
    computed_at: datetime


def periods(first: date, last: date) -> list[Period]:
    """Each day of use from ``first`` to ``last``, and each month whose last day is among them."""
    days = [Period(DAY, first + timedelta(days=n), first + timedelta(days=n + 1)) for n in range((last - first).days + 1)]
    months, start = [], first.replace(day=1)
    while start <= last:
        end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        if first <= end - timedelta(days=1) <= last:
            months.append(Period(MONTH, start, end))
        start = end
    return days + months


def compute_loss(session: Session, *, first: date, last: date, now: datetime, high_percent: int) -> dict[str, int]:
    """Compute (or recompute) every district's figures for the days ``first`` to ``last`` and the
    months that end among them; returns the number of figures and of new review items by rule."""
    if last < first:
        raise InvalidInput("last", f"the last day {last} is before the first {first}")
    if last >= beijing_date(now):
        raise InvalidInput("last", f"the loss of {last} needs the reads of the day after, which has not begun")
    wanted = periods(first, last)
    boundaries = {p.start for p in wanted} | {p.end for p in wanted}
    since, until = min(boundaries), max(boundaries)
    supplies = {series.district_id: series for series in district_series(session, since, until)}
    counts = {"figures": 0}
    customers: dict[int, list[Series]] = defaultdict(list)
    for chunk in account_series(session, district_chunks(session, district_ids=supplies), since, until, boundaries):
        for series in chunk:  # a chunk holds whole districts: each is computed once its chunk is in
            customers[series.district_id].append(series)
        for district_id in [d for d in customers if d in supplies]:
            _district(session, supplies.pop(district_id), customers.pop(district_id), wanted, high_percent, now, counts)
    for supply in supplies.values():  # districts without customers
        _district(session, supply, [], wanted, high_percent, now, counts)
    return counts


def _district(session: Session, supply: Series, customers: list[Series], wanted: list[Period], high_percent: int,
              now: datetime, counts: dict[str, int]) -> None:
    figures = [f for f in (_figure(supply, customers, p, now) for p in wanted) if f is not None]
    before = session.get(DistrictLoss, (supply.district_id, DAY, wanted[0].start - timedelta(days=1)))
    _replace(session, supply.district_id, wanted, figures)
    counts["figures"] += len(figures)
    for figure, rule in _findings(figures, before, high_percent):
        if _open(session, figure, rule, high_percent, now):
            counts[rule] = counts.get(rule, 0) + 1


def _findings(figures: list[Figure], before: DistrictLoss | None, high_percent: int) -> Iterator[tuple[Figure, str]]:
    """Each month's finding; a daily finding once per spell, on the day it began (a district losing
    too much every day is one item, not one a day)."""
    previous = (before.starts_on, _finding(before, high_percent)) if before else None
    for figure in figures:
        rule = _finding(figure, high_percent)
        if figure.period == MONTH:
            if rule:
                yield figure, rule
            continue
        continues = previous == (figure.starts_on - timedelta(days=1), rule)
        if rule and not continues:
            yield figure, rule
        previous = (figure.starts_on, rule)


def _figure(supply: Series, customers: list[Series], period: Period, now: datetime) -> Figure | None:
    measured = energy_over(supply, period.start, period.end)
    if measured is None:  # no supply figure: the gap rule reports the silent supply meter
        return None
    used, estimated, complete = 0, measured[1], True
    for series in customers:
        energy = energy_over(series, period.start, period.end)
        if energy is None:
            complete = False
            continue
        used += energy[0]
        estimated = estimated or energy[1]
    return Figure(supply.district_id, period.period, period.start, measured[0], used, measured[0] - used, estimated,
                  complete, now)


def _replace(session: Session, district_id: int, wanted: list[Period], figures: list[Figure]) -> None:
    table = DistrictLoss.__table__
    chosen = or_(*(and_(table.c.period == p.period, table.c.starts_on == p.start) for p in wanted))
    session.execute(delete(table).where(table.c.district_id == district_id, chosen))
    if figures:
        session.execute(insert(table), [asdict(figure) for figure in figures])


def _finding(figure: Figure, high_percent: int) -> str | None:
    negative, high = RULES_BY_PERIOD[figure.period]
    if figure.loss_wh < 0:
        return negative
    if figure.complete and figure.loss_wh * 100 > figure.supply_wh * high_percent:
        return high
    return None


def _open(session: Session, figure: Figure, rule: str, high_percent: int, now: datetime) -> bool:
    detail = {"supply_wh": figure.supply_wh, "customers_wh": figure.customers_wh, "loss_wh": figure.loss_wh,
              "rate_bp": rate_bp(figure), "threshold_percent": high_percent, "estimated": figure.estimated,
              "complete": figure.complete}  # the rule and the day say the period
    return open_item(session, kind=READ_FINDING, rule=rule, subject_on=figure.starts_on, at=now, detail=detail,
                     district_id=figure.district_id) is not None


def rate_bp(figure: Figure | DistrictLoss) -> int | None:
    """The line-loss rate in basis points (683 = 6.83 %), rounded half-up; None without supply."""
    if figure.supply_wh <= 0:
        return None
    return round_half_up(figure.loss_wh * 10_000, figure.supply_wh)
