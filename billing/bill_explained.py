"""An account's bills explained to the person who pays them: the bills with their states, the
account's standing in one sentence's figures, the reads a bill's period started and ended on,
where the tier year stands after a bill, and a forecast of the period now running.

Everything is read from what is stored (bills, their lines, allocation rows, reads) and priced by
``billing.pricing``, so a resident can check each figure by hand.  The energy of a bill is the sum
of its energy lines (tiers, TOU slots, the single price): markups, surcharges and the carried
difference of an estimate repeat Wh already counted or belong to an earlier period.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from billing.accounts import DEFAULT_TARIFFS, Account, Meter
from billing.bill_records import HELD, ISSUED, Bill, BillLine
from billing.bill_status import BillStatus, bill_statuses, position
from billing.errors import BillingError
from billing.meters import ReadMissing, energy, installations, valid_read
from billing.pricing import Quote, TierProgress, Usage, quote
from billing.tariff_files import ANNUAL, TIERED, Tariff, find_tariff

ENERGY_KINDS = frozenset({"energy", "sharp", "peak", "flat", "valley"})
FORECAST_FROM = 3  # the last bills whose daily use the forecast averages


@dataclass(frozen=True)
class AccountBill:
    bill: Bill
    status: BillStatus


@dataclass(frozen=True)
class Standing:
    """The account on ``on``: its balance (> 0 money in hand), and of its unpaid bills the days the
    oldest is past due and the earliest due date (None: no bill unpaid)."""

    balance_fen: int
    overdue_days: int
    due_date: date | None


@dataclass(frozen=True)
class ReadAt:
    on: date
    meter_no: str
    register_wh: int
    source: str


@dataclass(frozen=True)
class Forecast:
    start: date
    end: date
    wh: int
    amount_fen: int


def account_bills(session: Session, account_id: int, *, on: date, include_held: bool = False) -> list[AccountBill]:
    """The account's issued and cancelled bills, newest first; a held bill is not a bill yet to its
    resident (the desk includes it)."""
    statuses = bill_statuses(session, on=on, account_id=account_id)
    query = select(Bill).where(Bill.account_id == account_id).order_by(Bill.period_start.desc(), Bill.id.desc())
    found = session.exec(query if include_held else query.where(Bill.state != HELD))
    return [AccountBill(bill, statuses[bill.id]) for bill in found]


def account_bill(session: Session, account_id: int, bill_id: int) -> Bill | None:
    """The account's bill ``bill_id`` if it was issued (and maybe cancelled since), else None."""
    bill = session.get(Bill, bill_id)
    return bill if bill is not None and bill.account_id == account_id and bill.state != HELD else None


def standing(session: Session, account_id: int, *, on: date) -> Standing:
    unpaid = [status for status in bill_statuses(session, on=on, account_id=account_id).values() if status.owed_fen]
    return Standing(position(session, account_id).balance_fen, max((s.overdue_days for s in unpaid), default=0),
                    min((s.due_date for s in unpaid), default=None))


def reads_used(session: Session, bill: Bill) -> list[ReadAt]:
    """The valid reads at the 00:00 freezes that bound the bill's period on each meter that served it
    (its install or removal day where it came or went in the period); a boundary without one is left out."""
    after = bill.period_end + timedelta(days=1)
    found = []
    for installation in installations(session, bill.account_id):
        first = max(bill.period_start, installation.installed_on)
        last = min(after, installation.removed_on) if installation.removed_on else after
        if first >= last:
            continue
        meter_no = session.get(Meter, installation.meter_id).meter_no
        for day in (first, last):
            read = valid_read(session, installation.meter_id, day)
            if read is not None:
                found.append(ReadAt(day, meter_no, read.total_wh, read.source))
    return found


def energy_wh(session: Session, bill_ids: list[int]) -> int:
    """The energy the bills charged, from their energy lines."""
    if not bill_ids:
        return 0
    kind = BillLine.kind
    is_energy = kind.in_(ENERGY_KINDS) | (kind.like("tier\\_%", escape="\\") & ~kind.like("%\\_markup", escape="\\"))
    total = session.exec(select(func.coalesce(func.sum(BillLine.energy_wh), 0))
                         .where(BillLine.bill_id.in_(bill_ids), is_energy)).one()
    return int(total)  # PostgreSQL sums to a Decimal


def tariff_of(account: Account, tariffs: Mapping[str, Tariff] | None = None) -> Tariff:
    return find_tariff(account.tariff_id or DEFAULT_TARIFFS[account.category], tariffs)


def tier_standing(session: Session, bill: Bill, tariffs: Mapping[str, Tariff] | None = None) -> TierProgress | None:
    """Where the tier year (or month) stands at the end of ``bill``: None for a tariff without tiers."""
    account = session.get(Account, bill.account_id)
    tariff = tariff_of(account, tariffs)
    if tariff.kind != TIERED:
        return None
    after = bill.period_end + timedelta(days=1)
    used = _tier_used(session, tariff, account.id, bill.period_end, after)
    priced = _priced(tariff, bill.period_end, bill.period_end, Usage(0, before_wh=used, move_in=account.opened_on),
                     tariffs)
    return None if priced is None else priced.tiers


def forecast(session: Session, account_id: int, *, on: date, tariffs: Mapping[str, Tariff] | None = None
             ) -> Forecast | None:
    """The month now running (or the one after the last bill, if that is later) priced at the daily
    use of the account's last bills; None without an issued bill to go by or a tariff to price it."""
    recent = list(session.exec(select(Bill).where(Bill.account_id == account_id, Bill.state == ISSUED)
                               .order_by(Bill.period_end.desc()).limit(FORECAST_FROM)))
    if not recent:
        return None
    days = sum((bill.period_end - bill.period_start).days + 1 for bill in recent)
    start = max(on.replace(day=1), recent[0].period_end + timedelta(days=1))
    end = start.replace(day=calendar.monthrange(start.year, start.month)[1])
    wh = energy_wh(session, [bill.id for bill in recent]) * ((end - start).days + 1) // days
    account = session.get(Account, account_id)
    tariff = tariff_of(account, tariffs)
    before = _tier_used(session, tariff, account_id, start, start) if tariff.kind == TIERED else 0
    priced = _priced(tariff, start, end, Usage(wh, before_wh=before, move_in=account.opened_on), tariffs)
    return None if priced is None else Forecast(start, end, wh, priced.total_fen)


def _tier_used(session: Session, tariff: Tariff, account_id: int, day: date, after: date) -> int:
    """The use from the start of ``day``'s tier period to ``after``: from the freezes, as the bill
    run counts it, or where a freeze is missing from the issued bills of those months."""
    first = date(day.year, 1, 1) if tariff.tier_period == ANNUAL else day.replace(day=1)
    if first >= after:
        return 0
    try:
        return energy(session, account_id, first, after).total_wh
    except ReadMissing:
        pass
    return energy_wh(session, list(session.exec(select(Bill.id).where(
        Bill.account_id == account_id, Bill.state == ISSUED, Bill.period_start >= first, Bill.period_end < after))))


def _priced(tariff: Tariff, start: date, end: date, usage: Usage,
            tariffs: Mapping[str, Tariff] | None) -> Quote | None:
    """A quote, or None where the tariff cannot price it (no version for the dates, a two-part
    tariff without its capacity): an explanation is left out rather than guessed."""
    try:
        return quote(tariff, start, end, usage, tariffs)
    except BillingError:
        return None

