"""智能交费 daily settlement: each prepaid account is charged its day's use, day by day.

``settle_day(engine, day)`` charges every prepaid account that a meter served on ``day`` the energy
between the 00:00 freezes of ``day`` and ``day + 1`` (across a meter change, like
``billing.meters.energy``), priced by ``billing.pricing.quote`` for that single day at the
account's tariff.  Tiers run across the year (or month, for monthly tiers): the day is priced
after the use of the tier period already charged (``before_wh``), against the tier period's own
thresholds (not a day's share of them), so a year of daily charges puts exactly as many kWh in
each tier as one annual quote of the year's use.  Rounding is carried across the year too: each
priced line (kind at a price) is charged ``round(year's Wh after the day x price) - round(year's Wh
before x price)``, so a year of daily charges comes to the fen of that annual quote, and more kWh
never costs less (a day's own half-up rounding could shave a fen where a later day's kWh move up a
tier).  The carry (the year's Wh per line) is kept on each row, from charge to charge.

Each charge is a ``customer -> revenue:energy`` transfer keyed ``daily:<户号>:<day>`` with business
date ``day``, written with its ``daily_settlement`` row in one transaction.  A charge that meets
credit on the balance is allocated at once (``billing.allocation.into_credit``: a non-bill debit
takes the unallocated credit and what it does not cover is owed from its own day).  A charge that
takes the balance below the account's threshold writes ``balance_low``, below zero
``balance_negative``: once per crossing (the balance before the charge was above), not every day.

Set-based and chunked (DESIGN.md §7): per chunk of accounts, one transaction of a few bulk reads
(accounts with balances, meter spans, the two freezes, the tier period's use) and bulk writes
(transfers, cached ledger totals, settlement rows, events).  Crash-safe and idempotent like the
bill run: a killed run loses at most the chunk in flight; a rerun settles only the accounts
without a row for the day, in the same order.

A day whose freeze is missing (or only estimated) is not charged: the run names the accounts, and
a later run of that day charges them once the real read is in; nothing is charged on an estimate,
so nothing needs correcting later.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, bindparam, case, exists, func, or_, select, update
from sqlmodel import Session

from billing import allocation, events, ledger
from billing.accounts import DEFAULT_TARIFFS, PREPAID, Account
from billing.clock import beijing_date
from billing.daily_settlement_records import DailySettlement
from billing.db import bulk_insert, read_session, timestamp_value, unit_of_work
from billing.errors import BillingError, InvalidInput
from billing.ledger import LedgerAccount, Transfer
from billing.bill_drafts import NegativeUse
from billing.meters import MeterInstallation, ReadMissing
from billing.money import MILLIFEN_PER_FEN, round_half_up
from billing.pricing import WH_PER_KWH, Quote, Usage, quote, tou_buckets
from billing.reads import ESTIMATED, REGISTERS, VALID, Read
from billing.tariff_files import ANNUAL, TIERED, Tariff, find_tariff, shipped_tariffs

CHUNK = 1000  # accounts per transaction
SHOWN_NOT_CHARGED = 20  # account numbers kept per reason, for the report
REVENUE = "revenue:energy"
TRANSFER_CODE = "daily"
BALANCE_LOW, BALANCE_NEGATIVE = "balance_low", "balance_negative"
DAY = timedelta(days=1)

Progress = Callable[[int, int], None]


@dataclass
class DayResult:
    day: date
    accounts: int = 0  # candidates this run (without a row from an earlier run)
    charged: int = 0  # rows written, a day without use included
    amount_fen: int = 0
    energy_wh: int = 0
    low: int = 0  # balance_low events written
    negative: int = 0  # balance_negative events written
    not_charged: Counter = field(default_factory=Counter)  # reason -> accounts left for a later run
    not_charged_accounts: dict[str, list[str]] = field(default_factory=dict)


def check_day(day: date, now: datetime) -> None:
    """A day is settled once it is over: its closing freeze (00:00 of the next day) has happened."""
    today = beijing_date(now)
    if day >= today:
        raise InvalidInput("date", f"{day} is {'today' if day == today else 'in the future'}: a day is settled "
                                   f"from the next day on (today is {today} in Beijing)")


def settle_days(engine, first: date, last: date, *, now: datetime, progress: Callable[[date, int, int], None] | None = None,
                tariffs: Mapping[str, Tariff] | None = None, chunk: int = CHUNK) -> list[DayResult]:
    """Settle ``first .. last`` in order (each day's tiers follow the days before it)."""
    if last < first:
        raise InvalidInput("through", f"{last} is before --date {first}")
    check_day(last, now)
    tariffs = shipped_tariffs() if tariffs is None else tariffs
    results, day = [], first
    while day <= last:
        report = (lambda done, total, day=day: progress(day, done, total)) if progress else None
        results.append(settle_day(engine, day, now=now, progress=report, tariffs=tariffs, chunk=chunk))
        day += DAY
    return results


def settle_day(engine, day: date, *, now: datetime, progress: Progress | None = None,
               tariffs: Mapping[str, Tariff] | None = None, chunk: int = CHUNK) -> DayResult:
    """Charge ``day`` to every prepaid account served that day without a row for it, ``chunk`` accounts per transaction."""
    check_day(day, now)
    tariffs = shipped_tariffs() if tariffs is None else tariffs
    with read_session(engine) as db:
        ids = list(db.execute(_CANDIDATES, {"day": day}).scalars())
    result = DayResult(day, accounts=len(ids))
    for first in range(0, len(ids), chunk):
        with unit_of_work(engine) as db:
            _settle_chunk(db, ids[first:first + chunk], day, now=now, tariffs=tariffs, result=result)
        if progress is not None:
            progress(min(first + chunk, len(ids)), len(ids))
    return result


_s, _i, _r = DailySettlement.__table__, MeterInstallation.__table__, Read.__table__
_acc, _led = Account.__table__, LedgerAccount.__table__
_D = bindparam("day", type_=_s.c.day.type)
_IDS = bindparam("ids", expanding=True)
_serves = and_(_i.c.installed_on <= _D, or_(_i.c.removed_on.is_(None), _i.c.removed_on > _D))
# Prepaid accounts a meter served on the day that have no row for it yet.
_CANDIDATES = (
    select(_acc.c.id)
    .where(_acc.c.regime == PREPAID, _acc.c.opened_on <= _D,
           exists().where(_i.c.account_id == _acc.c.id, _serves),
           ~exists().where(_s.c.account_id == _acc.c.id, _s.c.day == _D))
    .order_by(_acc.c.id)
)
# Two runs at once: the chunk's accounts are locked first (FOR NO KEY UPDATE, like the bill run's:
# payments' allocation rows only share-lock the account), then read in a statement of its own, which
# on PostgreSQL sees what a run that held the lock committed and leaves those accounts out.  Their
# customer balances are locked too: a payment waits, so the balance read is the one charged.
_LOCK = select(_acc.c.id).where(_acc.c.id.in_(_IDS)).order_by(_acc.c.id).with_for_update(key_share=True)
_ACCOUNTS = (
    select(_acc.c.id, _acc.c.account_no, _acc.c.category, _acc.c.tariff_id, _acc.c.opened_on,
           _acc.c.balance_low_fen, _led.c.id.label("ledger_id"), (_led.c.credits_fen - _led.c.debits_fen).label("balance"))
    .join(_led, _led.c.account_id == _acc.c.id)
    .where(_acc.c.id.in_(_IDS), _led.c.code.startswith(ledger.customer_code("")),
           ~exists().where(_s.c.account_id == _acc.c.id, _s.c.day == _D))
    .order_by(_acc.c.id)
    .with_for_update(of=_led)
)
_SPANS = select(_i.c.account_id, _i.c.meter_id, _i.c.multiplier).where(_i.c.account_id.in_(_IDS), _serves)
_FREEZES = select(_r.c.meter_id, _r.c.read_on, _r.c.source, _r.c.total_wh, *(_r.c[f"{name}_wh"] for name in REGISTERS)) \
    .where(_r.c.meter_id.in_(_IDS), _r.c.read_on.in_([_D, bindparam("next_day", type_=_r.c.read_on.type)]),
           _r.c.status == VALID)
_FIRST_REGISTER = 4  # _FREEZES' registers, read by position: by name (a row's _mapping) cost more than the rest of _used
_YEAR, _MONTH = bindparam("year_start", type_=_s.c.day.type), bindparam("month_start", type_=_s.c.day.type)
# The use already charged in the day's year and month (PostgreSQL sums BIGINT to a Decimal: int() below).
_BEFORE = (
    select(_s.c.account_id, func.sum(_s.c.energy_wh), func.sum(case((_s.c.day >= _MONTH, _s.c.energy_wh), else_=0)))
    .where(_s.c.account_id.in_(_IDS), _s.c.day >= _YEAR, _s.c.day < bindparam("next_year", type_=_s.c.day.type),
           _s.c.day != _D)
    .group_by(_s.c.account_id)
)
# The year's carry: on the account's latest row of the year (charge_no counts them in charge order).
_in_year = and_(_s.c.account_id.in_(_IDS), _s.c.day >= _YEAR, _s.c.day < bindparam("next_year", type_=_s.c.day.type))
_latest = select(_s.c.account_id, func.max(_s.c.charge_no).label("charge_no")).where(_in_year) \
    .group_by(_s.c.account_id).subquery()
_CARRY = select(_s.c.account_id, _s.c.charge_no, _s.c.year_lines).where(_in_year) \
    .join(_latest, and_(_latest.c.account_id == _s.c.account_id, _latest.c.charge_no == _s.c.charge_no))
# Written by COPY on PostgreSQL (executemany on SQLite), then the transfers' ids read back by key.
_TRANSFER_COLUMNS = ("key", "debit_id", "credit_id", "amount_fen", "code", "memo", "posted_at", "business_date")
_SETTLEMENT_COLUMNS = ("account_id", "day", "energy_wh", "amount_fen", "transfer_id", "lines", "charge_no", "year_lines",
                       "created_at")
_t = Transfer.__table__
_TRANSFER_IDS = select(_t.c.key, _t.c.id).where(_t.c.key.in_(bindparam("keys", expanding=True)))
# Each customer balance charged takes its day's transfer into its cached debits: one statement for the chunk.
_DEBITS = update(_led).where(_led.c.id.in_(bindparam("ledger_ids", expanding=True))).values(
    debits_fen=_led.c.debits_fen + select(_t.c.amount_fen).where(
        _t.c.debit_id == _led.c.id, _t.c.business_date == _D, _t.c.code == TRANSFER_CODE).scalar_subquery())
_CREDIT = update(_led).where(_led.c.id == bindparam("ledger")).values(credits_fen=_led.c.credits_fen + bindparam("amount"))


class ReadEstimated(BillingError):
    """Only an estimate of the freeze exists: a day is charged on actual reads alone."""

    code = "read_estimated"


@dataclass(frozen=True)
class DayCharge:
    """A day priced: its lines with the year's rounding carried, and the carry after it."""

    energy_wh: int
    lines: tuple[dict, ...]  # kind, wh, price_millifen_per_kwh, amount_fen
    year_lines: dict[str, int]  # the year's Wh per priced line ("kind@price") after this day
    amount_fen: int  # the lines' sum


@dataclass(frozen=True)
class _Charge:
    account: object  # a row of _ACCOUNTS
    charge_no: int
    day: DayCharge

    @property
    def amount_fen(self) -> int:
        return self.day.amount_fen


def _settle_chunk(session: Session, ids: list[int], day: date, *, now: datetime, tariffs: Mapping[str, Tariff],
                  result: DayResult) -> None:
    db = session.connection()
    db.execute(_LOCK, {"ids": ids}).all()
    accounts = db.execute(_ACCOUNTS, {"ids": ids, "day": day}).all()
    ids = [account.id for account in accounts]  # a racing run may have settled some meanwhile
    used = _used(session, ids, day)
    bounds = {"ids": ids, "day": day, "year_start": date(day.year, 1, 1), "month_start": day.replace(day=1),
              "next_year": date(day.year + 1, 1, 1)}
    before = {row[0]: (int(row[1]), int(row[2])) for row in db.execute(_BEFORE, bounds).all()}
    carry = {row.account_id: (row.charge_no, json.loads(row.year_lines)) for row in db.execute(_CARRY, bounds).all()}
    charges = []
    for account in accounts:
        try:
            charges.append(_charge(account, used.get(account.id), before.get(account.id, (0, 0)),
                                   carry.get(account.id, (0, {})), day, tariffs))
        except BillingError as error:
            _not_charged(result, error, account.account_no)
    _write(session, charges, day, now=now, result=result)


def _used(session: Session, ids: list[int], day: date) -> dict[int, tuple[int, dict[str, int]] | BillingError]:
    """The day's use by account (total Wh and TOU registers), or why it is not known yet."""
    db = session.connection()
    spans = db.execute(_SPANS, {"ids": ids, "day": day}).all()
    # Results fetched whole (``all``): iterating one fetches row by row.
    freezes = {(row.meter_id, row.read_on): row for row in db.execute(
        _FREEZES, {"ids": sorted({span.meter_id for span in spans}), "day": day, "next_day": day + DAY}).all()}
    used: dict[int, tuple[int, dict[str, int]] | BillingError] = {}
    for span in spans:
        if isinstance(used.get(span.account_id), BillingError):
            continue
        begin, end = freezes.get((span.meter_id, day)), freezes.get((span.meter_id, day + DAY))
        missing = day if _unusable(begin) else day + DAY if _unusable(end) else None
        if missing is not None:
            why = ReadMissing if freezes.get((span.meter_id, missing)) is None else ReadEstimated
            used[span.account_id] = why(f"meter {span.meter_id} has no actual read on {missing}", field="read_on")
            continue
        total, registers = used.get(span.account_id, (0, {}))
        total += (end.total_wh - begin.total_wh) * span.multiplier
        for name, before, after in zip(REGISTERS, begin[_FIRST_REGISTER:], end[_FIRST_REGISTER:]):
            if before is not None and after is not None:
                registers[name] = registers.get(name, 0) + (after - before) * span.multiplier
        used[span.account_id] = (total, registers)
    return used


def _unusable(freeze) -> bool:
    return freeze is None or freeze.source == ESTIMATED


def _charge(account, used, before: tuple[int, int], carry: tuple[int, dict[str, int]], day: date,
            tariffs: Mapping[str, Tariff]) -> _Charge:
    if isinstance(used, BillingError):
        raise used
    total_wh, registers = used
    if total_wh < 0:
        raise NegativeUse(f"the registers fell by {-total_wh} Wh on {day}", field="read_on")
    tariff = find_tariff(account.tariff_id or DEFAULT_TARIFFS[account.category], tariffs)
    year_wh, month_wh = before
    priced = price_day(tariff, day, total_wh, registers, year_wh=year_wh, month_wh=month_wh,
                       move_in=account.opened_on, tariffs=tariffs)
    charge_no, year_lines = carry
    return _Charge(account, charge_no + 1, carry_rounding(priced, total_wh, year_lines))


def price_day(tariff: Tariff, day: date, wh: int, registers: Mapping[str, int] | None = None, *, year_wh: int = 0,
              month_wh: int = 0, move_in: date | None = None, tariffs: Mapping[str, Tariff] | None = None) -> Quote:
    """One day's use priced after the use already charged in its year (``year_wh``) and month:
    tiers by the tier period's whole thresholds, prorated only for a move-in."""
    before_wh = 0 if tariff.kind != TIERED else year_wh if tariff.tier_period == ANNUAL else month_wh
    usage = Usage(wh, tou_buckets(tariff, registers or {}, wh), before_wh=before_wh, move_in=move_in)
    return quote(tariff, day, day, usage, tariffs)


def carry_rounding(priced: Quote, energy_wh: int, carry: Mapping[str, int]) -> DayCharge:
    """The day's lines charged as the growth of the year's rounded line amounts (see the module's
    doc); a line without a price per kWh (a basic charge) keeps its own amount."""
    year_lines, lines = dict(carry), []
    for line in priced.lines:
        amount = line.amount_fen
        if line.price_millifen_per_kwh is not None:
            key = f"{line.kind}@{line.price_millifen_per_kwh}"
            was, year_lines[key] = year_lines.get(key, 0), year_lines.get(key, 0) + line.wh
            amount = _fen(year_lines[key], line.price_millifen_per_kwh) - _fen(was, line.price_millifen_per_kwh)
        lines.append({"kind": line.kind, "wh": line.wh, "price_millifen_per_kwh": line.price_millifen_per_kwh,
                      "amount_fen": amount})
    return DayCharge(energy_wh, tuple(lines), year_lines, sum(line["amount_fen"] for line in lines))


def _fen(wh: int, price_millifen_per_kwh: int) -> int:
    return round_half_up(wh * price_millifen_per_kwh, WH_PER_KWH * MILLIFEN_PER_FEN)


def _not_charged(result: DayResult, error: BillingError, account_no: str) -> None:
    reason = error.code if error.code != "invalid_input" else f"{error.code}:{error.field}"
    result.not_charged[reason] += 1
    shown = result.not_charged_accounts.setdefault(reason, [])
    if len(shown) < SHOWN_NOT_CHARGED:
        shown.append(account_no)


def _write(session: Session, charges: list[_Charge], day: date, *, now: datetime, result: DayResult) -> None:
    """The transfers and their cached totals, the settlement rows, the events, the allocations."""
    if not charges:
        return
    db = session.connection()
    stamp = timestamp_value(db, now)
    paid = [charge for charge in charges if charge.amount_fen > 0]
    transfer_ids = {}
    if paid:
        revenue = ledger.account_ids(session, [REVENUE])[REVENUE]
        keys = [f"daily:{charge.account.account_no}:{day.isoformat()}" for charge in paid]
        bulk_insert(db, Transfer.__table__, _TRANSFER_COLUMNS, [
            (key, charge.account.ledger_id, revenue, charge.amount_fen, TRANSFER_CODE, f"智能交费 {day.isoformat()}",
             stamp, day.isoformat()) for key, charge in zip(keys, paid)])
        by_key = dict(db.execute(_TRANSFER_IDS, {"keys": keys}).all())
        transfer_ids = {charge.account.id: by_key[key] for charge, key in zip(paid, keys)}
        db.execute(_DEBITS, {"ledger_ids": [charge.account.ledger_id for charge in paid], "day": day})
        db.execute(_CREDIT, {"ledger": revenue, "amount": sum(charge.amount_fen for charge in paid)})
    bulk_insert(db, _s, _SETTLEMENT_COLUMNS, [
        (charge.account.id, day.isoformat(), charge.day.energy_wh, charge.amount_fen, transfer_ids.get(charge.account.id),
         _json(charge.day.lines), charge.charge_no, _json(charge.day.year_lines), stamp) for charge in charges])
    _crossings(session, paid, day, now=now, result=result)
    # A charge that meets credit takes it now; one into arrears waits for a payment.
    allocation.into_credit(session, [
        allocation.IntoCredit(charge.account.id, charge.account.ledger_id, charge.account.balance,
                              transfer_ids[charge.account.id], None, charge.amount_fen, day)
        for charge in paid if charge.account.balance > 0], at=now)
    result.charged += len(charges)
    result.amount_fen += sum(charge.amount_fen for charge in charges)
    result.energy_wh += sum(charge.day.energy_wh for charge in charges)


# One encoder for the run: ``json.dumps`` with options builds a new one per call.
_json = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode


def _crossings(session: Session, paid: list[_Charge], day: date, *, now: datetime, result: DayResult) -> None:
    """balance_low and balance_negative, for the charges that took the balance across the line."""
    happened = []
    for charge in paid:
        was, low = charge.account.balance, charge.account.balance_low_fen
        left = was - charge.amount_fen
        if was >= low > left:
            happened.append((BALANCE_LOW, charge.account.id, {"day": day.isoformat(), "balance_fen": left,
                                                              "threshold_fen": low}))
        if was >= 0 > left:
            happened.append((BALANCE_NEGATIVE, charge.account.id, {"day": day.isoformat(), "balance_fen": left}))
    events.emit_many(session, happened, at=now)
    result.low += sum(1 for kind, _, _ in happened if kind == BALANCE_LOW)
    result.negative += sum(1 for kind, _, _ in happened if kind == BALANCE_NEGATIVE)


@dataclass(frozen=True)
class StatementLine:
    kind: str
    wh: int | None
    amount_fen: int


@dataclass(frozen=True)
class StatementDay:
    day: date
    energy_wh: int
    amount_fen: int


@dataclass(frozen=True)
class PrepaidStatement:
    """A prepaid account's month: its days as charged and their lines summed by kind."""

    account_id: int
    year: int
    month: int
    days: tuple[StatementDay, ...]
    lines: tuple[StatementLine, ...]

    @property
    def energy_wh(self) -> int:
        return sum(day.energy_wh for day in self.days)

    @property
    def amount_fen(self) -> int:
        return sum(day.amount_fen for day in self.days)


def prepaid_statement(session: Session, account_id: int, year: int, month: int) -> PrepaidStatement:
    """The month's statement: the sum of its settled days (a day not settled yet is not on it)."""
    if not (isinstance(year, int) and isinstance(month, int) and 2000 <= year <= 9998 and 1 <= month <= 12):
        raise InvalidInput("month", f"{year}-{month} is not a month from 2000-01 to 9998-12")
    first = date(year, month, 1)
    rows = session.execute(
        select(_s.c.day, _s.c.energy_wh, _s.c.amount_fen, _s.c.lines)
        .where(_s.c.account_id == account_id, _s.c.day >= first, _s.c.day < date(year + month // 12, month % 12 + 1, 1))
        .order_by(_s.c.day)).all()
    wh: dict[str, int | None] = {}
    fen: dict[str, int] = defaultdict(int)
    for row in rows:
        for line in json.loads(row.lines):
            kind = line["kind"]
            wh[kind] = None if line["wh"] is None else wh.get(kind, 0) + line["wh"]
            fen[kind] += line["amount_fen"]
    return PrepaidStatement(account_id, year, month,
                            tuple(StatementDay(row.day, row.energy_wh, row.amount_fen) for row in rows),
                            tuple(StatementLine(kind, wh[kind], fen[kind]) for kind in wh))
