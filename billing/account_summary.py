"""One 户号 at a glance for its resident: the balance and what it means, the due date, where the
tier year stands and the kWh left in the tier, this month's forecast, the last payment, and for a
prepaid (智能交费) 户号 how many days the balance lasts at the recent daily use.

Every figure can be checked by hand from the reads, the ledger and the tariff:

- recent daily use = the Wh of the last ``RECENT_DAYS`` days of reads / the days they cover;
- tier progress = the use from this year's first read (1 January's freeze) to the last read,
  against the tariff's prorated thresholds (``billing.pricing``);
- forecast = this month's use so far + recent daily use x the days of the month not yet read,
  priced at the tariff with the year's use before the month (峰谷 by the recent split);
- daily cost = one day of recent daily use priced where the tier year stands now;
  days left = balance // daily cost (prepaid, balance above zero).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta

from sqlalchemy import bindparam, func, select
from sqlmodel import Session

from billing.accounts import PREPAID, Account
from billing.bill_explained import Standing, standing, tariff_of
from billing.bindings import BoundAccount, bindings, bound_account
from billing.errors import BillingError
from billing.kept import Kept
from billing.ledger import LedgerAccount
from billing.meters import MeterInstallation
from billing.payment_history import PaymentEntry, last_payment
from billing.pricing import TierProgress, Usage, quote, tou_buckets
from billing.tariff_files import TIERED, Tariff
from billing.reads import Read
from billing.usage import Stretch, stretches, total

RECENT_DAYS = 30
KEPT = 20_000  # summaries a process keeps (a few hundred bytes each)
IN_CREDIT, DUE, OVERDUE, OWING = "in_credit", "due", "overdue", "owing"


@dataclass(frozen=True)
class MonthForecast:
    month: str  # 2026-11
    measured_wh: int  # read so far this month
    measured_through: date | None  # the last day read (None: nothing read this month yet)
    wh: int  # the whole month, forecast
    amount_fen: int | None  # None where the tariff cannot price it (a two-part tariff without capacity)


@dataclass(frozen=True)
class AccountSummary:
    account: BoundAccount
    balance_fen: int  # > 0 money in hand, < 0 owed
    state: str  # in_credit | due (a bill not yet due) | overdue | owing (arrears without a bill)
    due_date: date | None  # the earliest due date of an unpaid bill
    overdue_days: int
    tiers: TierProgress | None  # None: a tariff without tiers
    forecast: MonthForecast | None  # None: no reads in the recent days
    last_payment: PaymentEntry | None
    daily_use_wh: int | None  # recent average; None without recent reads
    daily_cost_fen: int | None
    days_left: int | None  # prepaid only: how long the balance lasts at the daily cost
    read_through: date | None  # the last read day: the figures stand at its 00:00 freeze


def standing_state(found: Standing) -> str:
    """The balance in one word (the portal says it in a sentence)."""
    if found.balance_fen >= 0:
        return IN_CREDIT
    if found.overdue_days:
        return OVERDUE
    return DUE if found.due_date is not None else OWING


class KeptSummaries(Kept):
    """Summaries a process worked out, by account, day and fingerprint; bounded.  The web layer keeps
    one per app (``Services``): a test's app, and so its database, starts with none."""

    def __init__(self, most: int = KEPT) -> None:
        super().__init__(most)

    def summary(self, session: Session, bound: BoundAccount, on: date, fingerprint: tuple | None) -> AccountSummary:
        found = self.get((bound.account_id, on, fingerprint), lambda: _summary(session, bound, on, None))
        return replace(found, account=bound)  # the binding's own label, for whichever family member asks


def summaries(session: Session, resident_id: int, *, on: date, tariffs: Mapping[str, Tariff] | None = None,
              kept: KeptSummaries | None = None) -> list[AccountSummary]:
    """Every 户号 of the resident, summarised, in 户号 order (``kept``: reuse what is still current)."""
    bound = bindings(session, resident_id)
    if kept is None or tariffs is not None:
        return [_summary(session, b, on, tariffs) for b in bound]
    prints = fingerprints(session, [b.account_id for b in bound])
    return summaries_of(session, [(b, prints.get(b.account_id)) for b in bound], on=on, kept=kept)


def summaries_of(session: Session, fingerprinted: Iterable[tuple[BoundAccount, tuple | None]], *, on: date,
                 kept: KeptSummaries) -> list[AccountSummary]:
    """The summaries of 户号 whose fingerprints were fetched already (``billing.resident_home``)."""
    return [kept.summary(session, bound, on, fingerprint) for bound, fingerprint in fingerprinted]


def account_summary(session: Session, resident_id: int, account_no: object, *, on: date,
                    tariffs: Mapping[str, Tariff] | None = None, kept: KeptSummaries | None = None) -> AccountSummary:
    """One of the resident's 户号 summarised (``BindingNotFound`` for any other)."""
    bound = bound_account(session, resident_id, account_no)
    if kept is None or tariffs is not None:
        return _summary(session, bound, on, tariffs)
    return kept.summary(session, bound, on, fingerprints(session, [bound.account_id]).get(bound.account_id))


def fingerprint_columns() -> tuple:
    """Per account (correlated to ``Account``), what its summary is made from: its row, its ledger,
    its meters' installations and removals, and its newest read.  The ledger only grows, so the sum of
    its accounts' debits and credits changes with every transfer; reads are never deleted and a read
    changes state only when a newer one supersedes it, so the newest read's id stands for them all."""
    installed = MeterInstallation.account_id == Account.id
    ledger = (select(func.sum(LedgerAccount.debits_fen + LedgerAccount.credits_fen))
              .where(LedgerAccount.account_id == Account.id).scalar_subquery())

    def meters(aggregate):
        return select(aggregate).select_from(MeterInstallation).where(installed).scalar_subquery()

    def newest_read():  # per meter, so that each is one probe of ix_meter_read_meter_id_id
        per_meter = select(func.max(Read.id)).where(Read.meter_id == MeterInstallation.meter_id).scalar_subquery()
        return meters(func.max(per_meter))

    return (Account.status, Account.regime, Account.category, Account.tariff_id, Account.opened_on,
            Account.capacity_kva, ledger,
            meters(func.max(MeterInstallation.id)), meters(func.count(MeterInstallation.removed_on)), newest_read())


_FINGERPRINTS = select(Account.id, *fingerprint_columns()).where(Account.id.in_(bindparam("account_ids", expanding=True)))


def fingerprints(session: Session, account_ids: list[int]) -> dict[int, tuple]:
    """Per account, one row in one query: a kept summary whose fingerprint still matches is current."""
    rows = session.connection().execute(_FINGERPRINTS, {"account_ids": account_ids}).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def _summary(session: Session, bound: BoundAccount, on: date, tariffs: Mapping[str, Tariff] | None) -> AccountSummary:
    account = session.get(Account, bound.account_id)
    found = standing(session, account.id, on=on)
    year_start, recent_start = date(on.year, 1, 1), on - timedelta(days=RECENT_DAYS)
    read = stretches(session, account.id, min(year_start, recent_start), on)
    recent = [s for s in read if s.start >= recent_start]
    read_through = max((s.end for s in read), default=None)
    tariff = tariff_of(account, tariffs)
    this_year = [s for s in read if s.start >= year_start]
    year_wh = total(this_year)[0]
    daily, cost = _daily(account, tariff, recent, year_wh, on, tariffs)
    days_left = None
    if account.regime == PREPAID and cost:
        days_left = max(0, found.balance_fen) // cost
    return AccountSummary(
        bound, found.balance_fen, standing_state(found), found.due_date, found.overdue_days,
        _tiers(account, tariff, year_wh, on, tariffs), _forecast(account, tariff, this_year, recent, on, tariffs),
        last_payment(session, account.id), daily, cost, days_left,
        read_through - timedelta(days=1) if read_through else None)


def _tiers(account: Account, tariff: Tariff, year_wh: int, on: date,
           tariffs: Mapping[str, Tariff] | None) -> TierProgress | None:
    if tariff.kind != TIERED:
        return None
    priced = _priced(tariff, on, on, Usage(0, before_wh=year_wh, move_in=account.opened_on), tariffs)
    return None if priced is None else priced.tiers


def _daily(account: Account, tariff: Tariff, recent: list[Stretch], year_wh: int, on: date,
           tariffs: Mapping[str, Tariff] | None) -> tuple[int | None, int | None]:
    """The recent average daily use and what one such day costs now."""
    days = sum((s.end - s.start).days for s in recent)
    if not days:
        return None, None
    wh, registers = total(recent)
    daily = wh // days
    buckets = tou_buckets(tariff, _scaled(registers, wh, daily), daily)
    priced = _priced(tariff, on, on, Usage(daily, buckets, before_wh=year_wh, move_in=account.opened_on), tariffs)
    return daily, None if priced is None else priced.total_fen


def _forecast(account: Account, tariff: Tariff, this_year: list[Stretch], recent: list[Stretch], on: date,
              tariffs: Mapping[str, Tariff] | None) -> MonthForecast | None:
    recent_days = sum((s.end - s.start).days for s in recent)
    if not recent_days:
        return None
    first = on.replace(day=1)
    last = on.replace(day=calendar.monthrange(on.year, on.month)[1])
    measured = [s for s in this_year if s.start >= first]
    measured_wh = total(measured)[0]
    read_to = max((s.end for s in measured), default=first)  # the first day not read yet
    recent_wh, registers = total(recent)
    wh = measured_wh + recent_wh * ((last - read_to).days + 1) // recent_days
    before = total(s for s in this_year if s.start < first)[0]
    buckets = tou_buckets(tariff, _scaled(registers, recent_wh, wh), wh)
    priced = _priced(tariff, first, last, Usage(wh, buckets, before_wh=before, move_in=account.opened_on), tariffs)
    return MonthForecast(f"{first:%Y-%m}", measured_wh, read_to - timedelta(days=1) if measured else None, wh,
                         None if priced is None else priced.total_fen)


def _scaled(registers: dict[str, int], from_wh: int, to_wh: int) -> dict[str, int]:
    """The 尖峰平谷 shares of ``from_wh`` applied to ``to_wh``, adding up exactly (the rest to the largest)."""
    if not registers or from_wh <= 0 or sum(registers.values()) != from_wh:
        return {}
    scaled = {name: wh * to_wh // from_wh for name, wh in registers.items()}
    largest = max(registers, key=registers.__getitem__)
    scaled[largest] += to_wh - sum(scaled.values())
    return scaled


def _priced(tariff: Tariff, start: date, end: date, usage: Usage, tariffs: Mapping[str, Tariff] | None):
    """A quote, or None where the tariff cannot price it: a figure left out rather than guessed."""
    try:
        return quote(tariff, start, end, usage, tariffs)
    except BillingError:
        return None
