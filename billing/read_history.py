"""Read histories in bulk, for the checks and the line loss: per account through its installations
(换表 and 倍率 changes), or per district supply meter.

A check of the reads of ``[first, last]`` needs some days before them (a trailing average, a run
of equal reads, the start of the month): the history holds every valid read from ``since`` to
``last``, the last read before ``since`` (so a long gap or a monthly manual meter still has its
previous read), and any extra days asked for (the same month last year).  Accounts load in chunks,
a few queries per chunk, so a whole county-day stays a handful of round trips.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date
from typing import NamedTuple

from sqlalchemy import String, bindparam, or_, select, type_coerce
from sqlmodel import Session

from billing.accounts import SMART, Account, District, Meter
from billing.meters import MeterInstallation
from billing.reads import ESTIMATED, VALID, Read

CHUNK = 2000  # accounts per round of queries


class Point(NamedTuple):
    """One valid read: a tuple, because a county-day is millions of them."""

    id: int
    meter_id: int
    day: date
    total_wh: int
    sharp_wh: int | None
    peak_wh: int | None
    flat_wh: int | None
    valley_wh: int | None
    source: str

    @property
    def registers(self) -> dict[str, int]:
        names = ("sharp", "peak", "flat", "valley")
        return {name: value for name, value in zip(names, self[4:8]) if value is not None}

    def shown(self, role: str) -> dict:
        """The read as evidence in a review item, flat (``previous_on``, ``previous_wh``), so that
        the review page can name and format each value."""
        return {f"{role}_on": self.day.isoformat(), f"{role}_wh": self.total_wh}


@dataclass
class Span:
    """One installation: a meter serving an account from ``start`` to ``end`` (None: still)."""

    meter_id: int
    meter_no: str
    smart: bool
    multiplier: int
    start: date
    end: date | None
    points: list[Point] = field(default_factory=list)  # its valid reads within [start, end], by day
    days: list[date] = field(default_factory=list)  # their days, for bisecting

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    def fill(self, points: Iterable[Point]) -> None:
        self.points = [point for point in points if self.covers(point.day)]
        self.days = [point.day for point in self.points]

    def at_or_before(self, day: date) -> Point | None:
        index = bisect_right(self.days, day)
        return self.points[index - 1] if index else None

    def between(self, first: date, last: date) -> list[Point]:
        return self.points[bisect_left(self.days, first):bisect_right(self.days, last)]


@dataclass
class Series:
    """What one account (or one district supply meter) measured, installation by installation."""

    district_id: int
    spans: list[Span]
    account_id: int | None = None  # None: the district's supply meter
    status: str | None = None
    regime: str | None = None
    extra: dict[tuple[int, date], Point] = field(default_factory=dict)  # far days (last year), by meter and day
    negative_since: date | None = None  # prepaid and below zero since that day
    cut_since: date | None = None  # disconnected by a confirmed supply order that day
    balance_fen: int | None = None

    def read(self, meter_id: int, day: date) -> Point | None:
        return self._by_day.get((meter_id, day))

    @cached_property
    def _by_day(self) -> dict[tuple[int, date], Point]:
        """Every loaded read by meter and day (asked for once the spans are filled)."""
        return self.extra | {(p.meter_id, p.day): p for span in self.spans for p in span.points}

    def current(self) -> Span:
        return self.spans[-1]


def energy_over(series: Series, start: date, end: date) -> tuple[int, bool] | None:
    """Energy in Wh over [start, end) across its installations, and whether an estimate went into
    it (the bulk twin of ``billing.meters.energy``).  None when a boundary read is missing or the
    register went down between them: a misread or a rollover is not energy until it is reviewed."""
    total, estimated = 0, False
    for span in series.spans:
        first, last = max(start, span.start), min(end, span.end) if span.end else end
        if first >= last:
            continue
        begin, finish = series.read(span.meter_id, first), series.read(span.meter_id, last)
        if begin is None or finish is None or finish.total_wh < begin.total_wh:
            return None
        total += (finish.total_wh - begin.total_wh) * span.multiplier
        estimated = estimated or ESTIMATED in (begin.source, finish.source)
    return total, estimated


_READ = Read.__table__.c
# The day as the driver hands it (SQLite: ISO text, which date.fromisoformat reads many times faster
# than SQLAlchemy's Date processing; PostgreSQL: a date already).
_COLUMNS = [_READ.id, _READ.meter_id, type_coerce(_READ.read_on, String), _READ.total_wh, _READ.sharp_wh,
            _READ.peak_wh, _READ.flat_wh, _READ.valley_wh, _READ.source]


def _as_point(row) -> Point:
    day = row[2]
    return tuple.__new__(Point, (row[0], row[1], day if isinstance(day, date) else date.fromisoformat(day), *row[3:]))


def district_chunks(session: Session, meter_ids: Iterable[int] | None = None,
                    district_ids: Iterable[int] | None = None) -> list[list[int]]:
    """Account ids in chunks of whole districts (a district bigger than a chunk is one): every
    account, or those any of ``meter_ids`` ever served, or those of ``district_ids``.  The filters
    apply here, not in SQL: an import may name more meters than a statement may carry parameters."""
    query = (select(Account.district_id, Account.id, MeterInstallation.meter_id)
             .join(MeterInstallation, MeterInstallation.account_id == Account.id)
             .order_by(Account.district_id, Account.id))
    meters = None if meter_ids is None else set(meter_ids)
    districts = None if district_ids is None else set(district_ids)
    chosen: dict[int, int] = {}  # account -> district, in district order
    for district_id, account_id, meter_id in session.execute(query):
        if (meters is None or meter_id in meters) and (districts is None or district_id in districts):
            chosen[account_id] = district_id
    chunks, previous = [[]], None
    for account_id, district_id in chosen.items():
        if district_id != previous and len(chunks[-1]) >= CHUNK:
            chunks.append([])
        chunks[-1].append(account_id)
        previous = district_id
    return [chunk for chunk in chunks if chunk]


def account_series(session: Session, chunks: list[list[int]], since: date, last: date,
                   extra_days: Iterable[date] = ()) -> Iterator[list[Series]]:
    """The accounts' histories, a chunk at a time."""
    for chunk in chunks:
        accounts = session.execute(select(Account.id, Account.district_id, Account.status, Account.regime)
                                   .where(Account.id.in_(chunk))).all()
        spans = _spans(session, chunk)
        series = [Series(district_id=district, spans=spans.get(account, []), account_id=account, status=status,
                         regime=regime) for account, district, status, regime in accounts]
        yield _filled([s for s in series if s.spans], since, last, extra_days, session)


def district_series(session: Session, since: date, last: date, meter_ids: Iterable[int] | None = None,
                    district_ids: Iterable[int] | None = None) -> list[Series]:
    """The districts' supply meters (all, or those among ``meter_ids`` / ``district_ids``)."""
    query = (select(District.id, Meter.id, Meter.meter_no, Meter.kind, Meter.multiplier, Meter.installed_on)
             .join(Meter, Meter.id == District.district_meter_id).order_by(District.id))
    meters = None if meter_ids is None else set(meter_ids)
    districts = None if district_ids is None else set(district_ids)
    series = [Series(district_id=district, spans=[Span(meter, number, kind == SMART, multiplier, installed, None)])
              for district, meter, number, kind, multiplier, installed in session.execute(query)
              if (meters is None or meter in meters) and (districts is None or district in districts)]
    return _filled(series, since, last, (), session)


def _spans(session: Session, account_ids_: list[int]) -> dict[int, list[Span]]:
    query = (select(MeterInstallation.account_id, MeterInstallation.meter_id, Meter.meter_no, Meter.kind,
                    MeterInstallation.multiplier, MeterInstallation.installed_on, MeterInstallation.removed_on)
             .join(Meter, Meter.id == MeterInstallation.meter_id)
             .where(MeterInstallation.account_id.in_(account_ids_))
             .order_by(MeterInstallation.account_id, MeterInstallation.installed_on, MeterInstallation.id))
    spans: dict[int, list[Span]] = defaultdict(list)
    for account, meter, number, kind, multiplier, installed, removed in session.execute(query):
        spans[account].append(Span(meter, number, kind == SMART, multiplier, installed, removed))
    return spans


def _filled(series: list[Series], since: date, last: date, extra_days: Iterable[date], session: Session) -> list[Series]:
    """Put each meter's reads into the spans it served (a read on a change day serves both)."""
    meters = sorted({span.meter_id for s in series for span in s.spans})
    if not meters:
        return series
    by_meter: dict[int, list[Point]] = defaultdict(list)
    far: dict[int, list[Point]] = defaultdict(list)
    for row in _reads(session, meters, since, last, sorted(set(extra_days))):
        point = _as_point(row)
        (by_meter if since <= point.day <= last else far)[point.meter_id].append(point)
    for row in _anchors(session, meters, since):
        by_meter[row[1]].insert(0, _as_point(row))
    for item in series:
        for span in item.spans:
            span.fill(by_meter.get(span.meter_id, ()))
        item.extra = {(p.meter_id, p.day): p for meter in {s.meter_id for s in item.spans} for p in far.get(meter, ())}
    return series


def _reads(session: Session, meters: list[int], since: date, last: date, extra_days: list[date]):
    """Through Core, not the ORM: a county-day is millions of rows."""
    window = _READ.read_on.between(since, last)
    query = (select(*_COLUMNS).where(_READ.status == VALID, _READ.meter_id.in_(bindparam("meters", expanding=True)),
                                     or_(window, _READ.read_on.in_(extra_days)) if extra_days else window)
             .order_by(_READ.meter_id, _READ.read_on))
    return session.connection().execute(query, {"meters": meters}).all()


def _anchors(session: Session, meters: list[int], since: date):
    """Each meter's last valid read before ``since``: one backward index seek per meter, where a
    GROUP BY would read every meter's whole history."""
    meter = Meter.__table__.c
    latest = (select(_READ.id).where(_READ.meter_id == meter.id, _READ.status == VALID, _READ.read_on < since)
              .order_by(_READ.read_on.desc()).limit(1).scalar_subquery())
    query = select(*_COLUMNS).where(_READ.id.in_(select(latest).where(meter.id.in_(meters))))
    return session.connection().execute(query).all()
