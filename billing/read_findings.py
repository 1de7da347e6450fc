"""What each validation rule finds in one history (``billing.read_history.Series``): pure functions
over the reads, no database.  The codes, their thresholds and the entry point that loads histories
and opens review items are in ``billing.read_rules``.

Consumption is the register delta between consecutive valid reads of one installation, times its
multiplier (倍率).  Between two installations (换表, or a 倍率 change) a drop is the change, never use.
Each finding carries its evidence: the reads, the averages and the threshold a reviewer judges by.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from billing.accounts import ACTIVE, CLOSED, DISCONNECTED, PREPAID, VACANT
from billing.read_history import Point, Series, Span, energy_over

if TYPE_CHECKING:
    from billing.read_rules import ReadRules

NEGATIVE_USE, ROLLOVER, METER_CHANGE = "negative_use", "rollover", "meter_change"
OUT_OF_ORDER, DUPLICATE_READ, TOU_MISMATCH, AMI_GAP = "out_of_order", "duplicate_read", "tou_mismatch", "ami_gap"
ZERO_USE, INACTIVE_USE, PREPAID_NO_CUT = "zero_use", "inactive_use", "prepaid_no_cut"
USED_WHILE_CUT = "used_while_cut"
HIGH_USE, LOW_USE, YEAR_HIGH, YEAR_LOW = "high_use", "low_use", "year_high", "year_low"
INACTIVE = (VACANT, DISCONNECTED, CLOSED)
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Window:
    """The read days being checked."""

    first: date
    last: date

    def holds(self, day: date) -> bool:
        return self.first <= day <= self.last

    def month_ends(self) -> list[date]:
        """The 1st of each month in the window: the read that closes the month before it."""
        day = self.first if self.first.day == 1 else _next_month(self.first)
        ends = []
        while day <= self.last:
            ends.append(day)
            day = _next_month(day)
        return ends


@dataclass(frozen=True)
class Finding:
    rule: str
    day: date  # the subject day: the read's day, or where a run, gap or spell began
    meter_id: int
    read_id: int | None
    detail: dict = field(default_factory=dict)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _month_before(day: date) -> date:
    return date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, 1)


def _year_before(day: date) -> date:
    return day.replace(year=day.year - 1)


def far_days(window: Window) -> set[date]:
    """The days the same-month-last-year comparison reads: each closed month and last year's."""
    days = set()
    for end in window.month_ends():
        days |= {end, _month_before(end), _year_before(end), _year_before(_month_before(end))}
    return days


def kind_of_drop(before: Point, after: Point, *, changed: bool, wrap_wh: int) -> str:
    """Why a register went down: a meter change between the reads, a register that wrapped past its
    maximum to a small value (the use it implies is under a tenth of the register), or a misread."""
    if changed:
        return METER_CHANGE
    wrapped = wrap_wh - before.total_wh + after.total_wh
    return ROLLOVER if 0 < wrapped <= wrap_wh // 10 else NEGATIVE_USE


def findings(series: Series, window: Window, rules: ReadRules) -> Iterator[Finding]:
    yield from _pairs(series, window, rules)
    yield from _changes(series, window)
    yield from _tou(series, window, rules)
    yield from _gaps(series, window, rules)
    if series.status == ACTIVE:
        yield from _year(series, window, rules)
    if series.cut_since is not None:  # a confirmed cut says more than "inactive" or "not cut"
        yield from _while_cut(series, window, rules)
    elif series.regime == PREPAID and series.negative_since is not None:
        yield from _prepaid(series, window, rules)


def _pairs(series: Series, window: Window, rules: ReadRules) -> Iterator[Finding]:
    """Consecutive reads, installation after installation: drops, then what the use says."""
    before, months_used, inactive = None, set(), series.status in INACTIVE and series.cut_since is None
    for span in series.spans:
        top, run = None, 0  # highest register before the predecessor; where the run of equal reads began
        for index, after in enumerate(span.points):
            previous = span.points[index - 1] if index else before
            if index and after.total_wh == previous.total_wh:
                run_start = span.points[run]
            else:
                run, run_start = index, after
            if previous is not None and after.total_wh < previous.total_wh:
                if window.holds(after.day):
                    kind = kind_of_drop(previous, after, changed=not index, wrap_wh=rules.wrap_wh)
                    if kind != METER_CHANGE:  # a change is judged by _changes, once per change
                        yield Finding(kind, after.day, span.meter_id, after.id, _drop(span, index, previous, rules))
            elif index and (inactive or window.holds(after.day)):
                use = Use(span, previous, after, top, run_start)
                if inactive and use.used_wh > rules.idle_wh * use.days:
                    first_in_month = (after.day.year, after.day.month) not in months_used
                    months_used.add((after.day.year, after.day.month))
                    if first_in_month and window.holds(after.day):
                        yield use.finding(INACTIVE_USE, status=series.status, idle_wh=rules.idle_wh)
                if window.holds(after.day):
                    yield from use.findings(series.status, rules)
            if index:
                top = previous.total_wh if top is None else max(top, previous.total_wh)
        before = span.points[-1] if span.points else before


def _drop(span: Span, index: int, previous: Point, rules: ReadRules) -> dict:
    after = span.points[index]
    detail = {**previous.shown("previous"), **after.shown("read"), "drop_wh": previous.total_wh - after.total_wh,
              "multiplier": span.multiplier}
    if index + 1 < len(span.points):  # the read after shows which of the two was wrong
        detail |= span.points[index + 1].shown("next")
    wrapped = rules.wrap_wh - previous.total_wh + after.total_wh
    if kind_of_drop(previous, after, changed=False, wrap_wh=rules.wrap_wh) == ROLLOVER:
        detail |= {"register_max_wh": rules.wrap_wh - 10, "used_wh": wrapped * span.multiplier}
    return detail


@dataclass
class Use:
    """The use between two consecutive reads of one installation, and what it is compared with."""

    span: Span
    before: Point
    after: Point
    top: int | None  # the highest register before ``before``
    run_start: Point  # the first of the reads equal to ``after``

    @property
    def days(self) -> int:
        return (self.after.day - self.before.day).days

    @property
    def used_wh(self) -> int:
        return (self.after.total_wh - self.before.total_wh) * self.span.multiplier

    def finding(self, rule: str, **detail) -> Finding:
        shown = {**self.before.shown("previous"), **self.after.shown("read"), "used_wh": self.used_wh,
                 "days": self.days, "multiplier": self.span.multiplier}
        return Finding(rule, self.after.day, self.span.meter_id, self.after.id, shown | detail)

    def findings(self, status: str | None, rules: ReadRules) -> Iterator[Finding]:
        if self.top is not None and self.after.total_wh < self.top:
            yield self.finding(OUT_OF_ORDER, earlier_wh=self.top)
        if status != ACTIVE:
            return
        stopped = (self.after.day - self.run_start.day).days
        if self.used_wh == 0 and stopped >= rules.zero_days > (self.before.day - self.run_start.day).days:
            yield self.finding(ZERO_USE, since=self.run_start.day.isoformat(), zero_days=stopped,
                               threshold_days=rules.zero_days)
        yield from self._against_average(rules)

    def _against_average(self, rules: ReadRules) -> Iterator[Finding]:
        """High or low against the trailing average daily use (exact zero is left to ZERO_USE)."""
        base = self.span.at_or_before(self.before.day - timedelta(days=rules.trailing_days))
        if base is None or base.day >= self.before.day:
            return
        base_days = (self.before.day - base.day).days
        base_wh = (self.before.total_wh - base.total_wh) * self.span.multiplier
        if base_wh <= rules.idle_wh * base_days:
            return
        ratio = self.used_wh * base_days * 100  # compared with base_wh * days * percent, in integers
        evidence = {"average_wh": base_wh // base_days, "daily_wh": self.used_wh // self.days,
                    "average_from": base.day.isoformat(), "average_days": base_days}
        if ratio > base_wh * self.days * rules.high_percent:
            yield self.finding(HIGH_USE, threshold_percent=rules.high_percent, **evidence)
        elif 0 < ratio < base_wh * self.days * rules.low_percent:
            yield self.finding(LOW_USE, threshold_percent=rules.low_percent, **evidence)


def _changes(series: Series, window: Window) -> Iterator[Finding]:
    """A change of meter or multiplier needs the old installation's final read and the new one's
    initial read on its day; without them the energy across it cannot be counted."""
    for old, new in zip(series.spans, series.spans[1:]):
        day = new.start
        if not window.holds(day):
            continue
        final, initial = old.at_or_before(day), new.at_or_before(day)
        final, initial = (p if p is not None and p.day == day else None for p in (final, initial))
        if final is None or initial is None:
            yield Finding(METER_CHANGE, day, new.meter_id, initial.id if initial else None, {
                "old_meter": old.meter_no, "new_meter": new.meter_no, "old_multiplier": old.multiplier,
                "new_multiplier": new.multiplier, **(final.shown("final") if final else {}),
                **(initial.shown("initial") if initial else {})})


def _tou(series: Series, window: Window, rules: ReadRules) -> Iterator[Finding]:
    seen = set()
    for span in series.spans:
        for point in span.between(window.first, window.last):
            if point[4:8] == (None,) * 4 or point.id in seen:
                continue
            seen.add(point.id)
            registers = point.registers
            difference = sum(registers.values()) - point.total_wh
            if abs(difference) > rules.tou_tolerance_wh:
                yield Finding(TOU_MISMATCH, point.day, span.meter_id, point.id, {
                    **point.shown("read"), **{f"{name}_wh": value for name, value in registers.items()},
                    "registers_wh": sum(registers.values()), "difference_wh": difference,
                    "tolerance_wh": rules.tou_tolerance_wh})


def _gaps(series: Series, window: Window, rules: ReadRules) -> Iterator[Finding]:
    """A smart meter silent for ``gap_days`` days, found on the day the gap reaches them."""
    if series.status == CLOSED:
        return
    for span in series.spans:
        if not span.smart:
            continue
        end = min(window.last, span.end) if span.end else window.last
        previous = span.start - ONE_DAY  # a new meter is missing its reads from its first day
        for day in [*span.days, None]:
            reaches = previous + timedelta(days=rules.gap_days)
            if (day is None or day > reaches) and reaches <= end and window.holds(reaches):
                silent_to = min(day - ONE_DAY, end) if day else end
                yield Finding(AMI_GAP, previous + ONE_DAY, span.meter_id, None, {
                    **({"previous_on": previous.isoformat()} if previous >= span.start else {}),
                    "missing_days": (silent_to - previous).days, "threshold_days": rules.gap_days,
                    **({"next_on": day.isoformat()} if day else {})})
            previous = day or previous


def _year(series: Series, window: Window, rules: ReadRules) -> Iterator[Finding]:
    """Each month closed in the window, against the same month last year."""
    for end in window.month_ends():
        start = _month_before(end)
        now, then = energy_over(series, start, end), energy_over(series, _year_before(start), _year_before(end))
        if now is None or then is None or then[0] <= rules.idle_wh * (end - start).days:
            continue
        evidence = {"month": start.isoformat()[:7], "used_wh": now[0], "last_year_wh": then[0],
                    "estimated": now[1] or then[1]}
        closing = series.read(series.current().meter_id, end)
        meter, read = series.current().meter_id, closing.id if closing else None
        if now[0] * 100 > then[0] * rules.year_high_percent:
            yield Finding(YEAR_HIGH, start, meter, read, evidence | {"threshold_percent": rules.year_high_percent})
        elif now[0] * 100 < then[0] * rules.year_low_percent:
            yield Finding(YEAR_LOW, start, meter, read, evidence | {"threshold_percent": rules.year_low_percent})


def _prepaid(series: Series, window: Window, rules: ReadRules) -> Iterator[Finding]:
    """A prepaid account below zero should have been cut the day after; one finding per spell."""
    since = series.negative_since
    yield from _spell(PREPAID_NO_CUT, since, _uses_after(series, since, window.last), window, rules,
                      balance_fen=series.balance_fen, negative_since=since.isoformat())


def _while_cut(series: Series, window: Window, rules: ReadRules) -> Iterator[Finding]:
    """A meter whose cut was confirmed goes on counting: a relay that did not open, a bypass, or a
    reconnection by hand; one finding per cut.  The cut day's own use (before the cut) is not counted."""
    since = series.cut_since
    yield from _spell(USED_WHILE_CUT, since, _uses_after(series, since, window.last), window, rules,
                      cut_on=since.isoformat())


def _uses_after(series: Series, since: date, last: date) -> list[Use]:
    """The use between consecutive reads from the day after ``since`` to ``last`` (drops are judged elsewhere)."""
    return [Use(span, before, after, None, after) for span in series.spans
            for before, after in zip(span.points, span.points[1:])
            if before.day > since and after.day <= last and after.total_wh >= before.total_wh]


def _spell(rule: str, since: date, uses: list[Use], window: Window, rules: ReadRules, **evidence) -> Iterator[Finding]:
    """One finding for a spell that should have had no use, once a read in the window shows some."""
    if any(window.holds(u.after.day) and u.used_wh > rules.idle_wh * u.days for u in uses):
        last = uses[-1]
        yield Finding(rule, since, last.span.meter_id, last.after.id, {
            **evidence, "used_wh": sum(u.used_wh for u in uses), **uses[0].before.shown("from"),
            **last.after.shown("read"), "idle_wh": rules.idle_wh})
