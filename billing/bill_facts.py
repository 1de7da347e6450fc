"""The facts of a chunk of accounts' bills for a month (``billing.bill_drafts.Facts``), read with a
few set queries instead of a dozen per account: the bill run's read side.

Each query names the chunk's account (or meter) ids as ONE bound parameter (``billing.db.among``),
not thousands of placeholders.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.engine import Connection
from sqlmodel import Session

from billing.accounts import Account
from billing.bill_drafts import Facts, last_removed
from billing.bill_records import CANCELLED, Bill
from billing.bill_run_records import BillRunAccount
from billing.db import among
from billing.errors import BillingError
from billing.meters import MeterInstallation, ReadMissing, measure
from billing.read_history import Point
from billing.reads import VALID, EstimateCarry, Read
from billing.review import OPEN, READ_FINDING, ReviewItem
from billing.late_fee_posting import NOT_A_FEE_BILL

_ACCOUNT_COLUMNS = (Account.id, Account.account_no, Account.category, Account.tariff_id, Account.opened_on,
                    Account.status, Account.capacity_kva, Account.district_id)


@dataclass
class Chunk:
    """A chunk's accounts (rows with an Account's columns, in id order), the facts of those that can
    be billed, and the error of each that cannot."""

    accounts: list
    facts: dict[int, Facts]
    errors: dict[int, BillingError]


def chunk_facts(session: Session, account_ids: list[int], start: date, after: date) -> Chunk:
    # Core on the session's connection (the ORM's result processing cost more than the queries), each
    # result fetched whole: iterating one fetches row by row.
    db = session.connection()
    accounts = db.execute(select(*_ACCOUNT_COLUMNS).where(among(db, Account.id, account_ids))
                          .order_by(Account.id)).all()
    spans = _spans(db, account_ids)
    january = date(start.year, 1, 1)
    reads = _reads(db, spans, {january, start, after})

    def read_on(meter_id: int, day: date):
        return reads.get((meter_id, day))

    used, year_before, errors = {}, {}, {}
    for account in accounts:
        served = spans.get(account.id, [])
        try:
            used[account.id] = measure(served, read_on, start, after)
        except BillingError as error:
            errors[account.id] = error
            continue
        try:
            year_before[account.id] = measure(served, read_on, january, start)
        except ReadMissing:
            year_before[account.id] = None
    missing_year = [account_id for account_id, energy in year_before.items() if energy is None]
    billed = _year_billed(db, missing_year, start) if missing_year else {}
    carries, earlier = _carries(db, account_ids), _earlier(db, account_ids, start)
    findings = _open_findings(db, account_ids)
    facts = {account_id: Facts(last_removed([span.removed_on for span in spans[account_id]]), energy,
                               year_before[account_id], billed.get(account_id, 0), tuple(carries.get(account_id, ())),
                               tuple(earlier.get(account_id, ())), findings.get(account_id, 0))
             for account_id, energy in used.items()}
    return Chunk(accounts, facts, errors)


def billed_already(session: Session, account_ids: list[int], start: date, after: date) -> set[int]:
    """The accounts with a bill of this run, or one made by hand for the month, not cancelled."""
    run = select(BillRunAccount.account_id).where(among(session, BillRunAccount.account_id, account_ids),
                                                  BillRunAccount.period_start == start)
    by_hand = select(Bill.account_id).where(among(session, Bill.account_id, account_ids), Bill.period_start >= start,
                                            Bill.period_start < after, Bill.state != CANCELLED)
    return set(session.execute(run).scalars()) | set(session.execute(by_hand).scalars())


def _spans(db: Connection, account_ids: list[int]) -> dict[int, list]:
    m = MeterInstallation
    spans = defaultdict(list)
    for row in db.execute(select(m.account_id, m.meter_id, m.multiplier, m.installed_on, m.removed_on)
                          .where(among(db, m.account_id, account_ids))
                          .order_by(m.account_id, m.installed_on, m.id)).all():
        spans[row.account_id].append(row)
    return spans


def _reads(db: Connection, spans: dict[int, list], days: set[date]) -> dict[tuple[int, date], Point]:
    """The valid reads of the chunk's meters on the days ``measure`` may ask for: the period
    boundaries and the days a meter came on or off."""
    meters = {span.meter_id for served in spans.values() for span in served}
    days |= {day for served in spans.values() for span in served for day in (span.installed_on, span.removed_on) if day}
    r = Read
    # The day as text (SQLite's Date processing costs more than the rest of the row), read back once per day.
    rows = db.execute(select(r.id, r.meter_id, type_coerce(r.read_on, String), r.total_wh, r.sharp_wh,
                             r.peak_wh, r.flat_wh, r.valley_wh, r.source)
                      .where(among(db, r.meter_id, meters), r.read_on.in_(sorted(days)), r.status == VALID)).all()
    as_date = {str(day): day for day in days}
    points = (Point(row[0], row[1], as_date[str(row[2])], *row[3:]) for row in rows)
    return {(point.meter_id, point.day): point for point in points}


def _year_billed(db: Connection, account_ids: list[int], start: date) -> dict[int, int]:
    run = BillRunAccount
    return {account_id: int(wh) for account_id, wh in db.execute(  # PostgreSQL sums to a Decimal
        select(run.account_id, func.sum(run.energy_wh)).join(Bill, Bill.id == run.bill_id)
        .where(among(db, run.account_id, account_ids), run.period_start >= date(start.year, 1, 1),
               run.period_start < start, Bill.state != CANCELLED).group_by(run.account_id))}


def _carries(db: Connection, account_ids: list[int]) -> dict[int, list[tuple[int, int]]]:
    carries = defaultdict(list)
    for account_id, carry_id, wh in db.execute(
            select(EstimateCarry.account_id, EstimateCarry.id, EstimateCarry.difference_wh)
            .where(among(db, EstimateCarry.account_id, account_ids), EstimateCarry.carried_on_bill_id.is_(None))
            .order_by(EstimateCarry.id)).all():
        carries[account_id].append((carry_id, wh))
    return carries


def _earlier(db: Connection, account_ids: list[int], start: date) -> dict[int, list[tuple[str, int]]]:
    earlier = defaultdict(list)
    for account_id, state, fen in db.execute(
            select(Bill.account_id, Bill.state, Bill.total_fen)
            .where(among(db, Bill.account_id, account_ids), Bill.period_start < start, Bill.state != CANCELLED,
            NOT_A_FEE_BILL)
            .order_by(Bill.account_id, Bill.period_start.desc(), Bill.id.desc())).all():
        earlier[account_id].append((state, fen))
    return earlier


def _open_findings(db: Connection, account_ids: list[int]) -> dict[int, int]:
    return dict(db.execute(
        select(ReviewItem.account_id, func.count())
        .where(among(db, ReviewItem.account_id, account_ids), ReviewItem.kind == READ_FINDING,
               ReviewItem.status == OPEN).group_by(ReviewItem.account_id)).all())
