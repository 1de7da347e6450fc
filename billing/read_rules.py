"""Validation rules for meter reads: each with a stable code, thresholds from ``ReadRules`` (the
portal builds it from settings), and one entry point, ``check_reads``, run on import, on entry and
from ``dianfei reads check``.

Each finding opens a review item (kind ``read``) with its evidence; items are idempotent by rule,
meter and subject day, so checking the same days again opens nothing twice.  A run, a gap or a
spell (a stopped meter, a silent smart meter, a prepaid account below zero) is one item, keyed by
the day it began, not one per day it lasts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlmodel import Session

from billing.accounts import DISCONNECTED, PREPAID
from billing.clock import beijing_date
from billing.errors import InvalidInput
from billing.ledger import LedgerAccount, Transfer, customer_balances
from billing.line_loss import LOSS_HIGH, LOSS_HIGH_MONTH, LOSS_NEGATIVE, LOSS_NEGATIVE_MONTH
from billing.read_findings import (
    AMI_GAP, DUPLICATE_READ, HIGH_USE, INACTIVE_USE, LOW_USE, METER_CHANGE, NEGATIVE_USE, OUT_OF_ORDER,
    PREPAID_NO_CUT, ROLLOVER, TOU_MISMATCH, USED_WHILE_CUT, YEAR_HIGH, YEAR_LOW, ZERO_USE, Finding, Window, far_days,
    findings,
)
from billing.read_history import Series, account_series, district_chunks, district_series
from billing.review import OPEN, READ_FINDING, ReviewItem, open_item
from billing.supply_orders import cut_days

RULES: dict[str, str] = {
    NEGATIVE_USE: "the register went down from the read before: a misread (neither a rollover nor a meter change)",
    ROLLOVER: "the register wrapped past its maximum to a small value: the use is the wrapped difference",
    METER_CHANGE: "a meter or multiplier change without the old meter's final read or the new one's initial read",
    OUT_OF_ORDER: "a read lower than an earlier read across a gap (a read filed under the wrong day)",
    DUPLICATE_READ: "two meters of a district with identical reads on several days (one's reads filed under another)",
    ZERO_USE: "an active account's register unchanged for N days (a stopped meter)",
    INACTIVE_USE: "use on a vacant, disconnected or closed account (first in each month)",
    HIGH_USE: "daily use far above the trailing average",
    LOW_USE: "daily use far below the trailing average (exact zero is zero_use)",
    YEAR_HIGH: "a month's use far above the same month last year",
    YEAR_LOW: "a month's use far below the same month last year",
    PREPAID_NO_CUT: "a prepaid account kept using power while its balance was below zero (the meter failed to cut)",
    USED_WHILE_CUT: "a meter kept counting after its disconnection was confirmed (a relay that failed, a bypass)",
    TOU_MISMATCH: "the 尖峰平谷 registers do not add up to the total",
    AMI_GAP: "a smart meter sent no read for N days",
    LOSS_NEGATIVE: "a district's daily line loss is negative (a metering or topology error)",
    LOSS_HIGH: "a district's daily line loss is above the threshold (complete figures only)",
    LOSS_NEGATIVE_MONTH: "a district's monthly line loss is negative",
    LOSS_HIGH_MONTH: "a district's monthly line loss is above the threshold (complete figures only)",
}
DUPLICATE_MIN_WH = 1000  # registers below 1 kWh are new meters: equal by nature, not by mistake
DUPLICATE_LOOKBACK_DAYS = 7


@dataclass(frozen=True)
class ReadRules:
    """The thresholds of the rules; the portal builds this from ``DIANFEI_READ_*`` settings."""

    register_digits: int = 5  # whole-kWh digits: the register wraps to zero after 99999.99 kWh
    zero_days: int = 5
    gap_days: int = 3
    trailing_days: int = 30
    high_percent: int = 300
    low_percent: int = 20
    year_high_percent: int = 200
    year_low_percent: int = 40
    idle_wh: int = 500  # daily use at or below this is no use (a vacant flat's standby)
    tou_tolerance_wh: int = 20
    loss_high_percent: int = 10

    @property
    def wrap_wh(self) -> int:
        return 10**self.register_digits * 1000  # Wh per kWh

    def since(self, first: date) -> date:
        """The first day a check of ``first`` onwards must see: the trailing average, a run of
        equal reads, a gap and the month's earlier use all look back from it."""
        days = max(self.trailing_days, self.zero_days, self.gap_days, first.day - 1) + 2
        return first - timedelta(days=days)


def check_reads(session: Session, *, rules: ReadRules, first: date, last: date, now: datetime,
                meter_ids: Iterable[int] | None = None) -> dict[str, int]:
    """Check the valid reads dated ``first`` to ``last`` (of ``meter_ids``, or of every meter) and open
    a review item per finding; returns how many new items each rule opened."""
    if last < first:
        raise InvalidInput("last", f"the last day {last} is before the first {first}")
    if last > beijing_date(now):
        raise InvalidInput("last", f"{last} is in the future")
    window, since = Window(first, last), rules.since(first)
    meters = None if meter_ids is None else set(meter_ids)
    opened: Counter[str] = Counter()
    for chunk in account_series(session, district_chunks(session, meters), since, last, far_days(window)):
        _balances(session, chunk)
        _cuts(session, chunk)
        for series in chunk:
            opened.update(f.rule for f in findings(series, window, rules) if _open(session, series, f, now))
        opened.update(f.rule for series, f in _duplicates(session, chunk, window) if _open(session, series, f, now))
    for series in district_series(session, since, last, meter_ids=meters):
        opened.update(f.rule for f in findings(series, window, rules) if _open(session, series, f, now))
    return {rule: count for rule, count in opened.items() if count}


def _open(session: Session, series: Series, finding: Finding, now: datetime) -> bool:
    return open_item(session, kind=READ_FINDING, rule=finding.rule, subject_on=finding.day, at=now,
                     detail=finding.detail, account_id=series.account_id, meter_id=finding.meter_id,
                     district_id=series.district_id, read_id=finding.read_id) is not None


def _balances(session: Session, chunk: list[Series]) -> None:
    """Prepaid accounts below zero, and since when (the ledger's transfers, walked in order)."""
    prepaid = [s for s in chunk if s.regime == PREPAID]
    balances = customer_balances(session, [s.account_id for s in prepaid])
    for series in prepaid:
        series.balance_fen = balances.get(series.account_id, 0)
        if series.balance_fen < 0:
            series.negative_since = _negative_since(session, series.account_id)


def _cuts(session: Session, chunk: list[Series]) -> None:
    """Disconnected accounts: since when their cut was confirmed (supply orders)."""
    cut = cut_days(session, [s.account_id for s in chunk if s.status == DISCONNECTED])
    for series in chunk:
        series.cut_since = cut.get(series.account_id)


def _negative_since(session: Session, account_id: int) -> date | None:
    ledger_id = session.execute(select(LedgerAccount.id).where(
        LedgerAccount.account_id == account_id, LedgerAccount.code.startswith("customer:"))).scalar()
    rows = session.execute(select(Transfer.credit_id == ledger_id, Transfer.amount_fen, Transfer.posted_at)
                           .where(or_(Transfer.debit_id == ledger_id, Transfer.credit_id == ledger_id))
                           .order_by(Transfer.posted_at, Transfer.id))
    balance, since = 0, None
    for credited, amount, posted_at in rows:
        after = balance + (amount if credited else -amount)
        if after < 0 <= balance:
            since = beijing_date(posted_at)
        balance = after
    return since


def _duplicates(session: Session, chunk: list[Series], window: Window) -> Iterator[tuple[Series, Finding]]:
    """Pairs of meters of one district (one concentrator) whose reads, total and every register,
    were identical on two or more days of the week before: by chance practically never, by a
    head-end's or a reader's mix-up often."""
    since = window.first - timedelta(days=DUPLICATE_LOOKBACK_DAYS)
    first_seen: dict[tuple, int] = {}  # the first meter seen with each reading of each day
    meter_nos: dict[int, str] = {}
    pairs: dict[tuple[int, int], list] = defaultdict(list)
    for series in chunk:
        for span in series.spans:
            meter_nos[span.meter_id] = span.meter_no
            for point in span.between(since, window.last):
                key = (series.district_id, point.day, point.total_wh, point[4:8])
                seen = first_seen.setdefault(key, span.meter_id) if point.total_wh >= DUPLICATE_MIN_WH else span.meter_id
                if seen != span.meter_id:  # the meter seen second is the suspect one
                    pairs[(seen, span.meter_id)].append((point.day, point.total_wh, point.id, series, meter_nos[seen]))
    for (first_meter, second_meter), days in sorted(pairs.items()):
        days.sort(key=lambda match: match[0])
        if len(days) < 2 or not any(window.holds(match[0]) for match in days) or _open_for(session, second_meter):
            continue
        yield days[-1][3], Finding(DUPLICATE_READ, days[0][0], second_meter, days[-1][2], {
            "other_meter": days[-1][4], "matching_days": [match[0].isoformat() for match in days],
            "read_wh": days[-1][1]})


def _open_for(session: Session, meter_id: int) -> bool:
    """A duplicate that goes on is one item while it is open, not one per week."""
    return session.execute(select(ReviewItem.id).where(
        ReviewItem.rule == DUPLICATE_READ, ReviewItem.meter_id == meter_id, ReviewItem.status == OPEN)).first() is not None
