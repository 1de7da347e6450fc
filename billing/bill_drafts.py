"""One account's bill for one month, as the bill run makes it: the period's energy from the 00:00
freezes of the 1st of the month and of the next month (across meter changes), priced at the
account's tariff with the year's use before it, plus the carried differences of superseded
estimates, and the reasons (if any) to hold it for review instead of issuing it.

Reading and pricing come first and write nothing, so an account that cannot be billed (a missing
read, a use its tariff cannot price) is left as it was, to be billed by a later run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import func, select
from sqlmodel import Session

from billing import bills
from billing.accounts import CLOSED, DEFAULT_TARIFFS, Account
from billing.bill_records import CANCELLED, ISSUED, Bill
from billing.bill_run_records import BillRunAccount
from billing.errors import BillingError
from billing.meters import Energy, MeterInstallation, ReadMissing, energy
from billing.money import round_half_up
from billing.pricing import Quote, Usage, quote
from billing.reads import EstimateCarry
from billing.review import OPEN, READ_FINDING, ReviewItem
from billing.tariff_files import ANNUAL, SINGLE, TIERED, TWO_PART, Tariff, find_tariff
from billing.late_fee_posting import NOT_A_FEE_BILL

DEFAULT_CAPACITY_KVA = 315  # a large-industry account without a recorded transformer: the common 10 kV size
# No reactive-energy reads yet: the standard itself, which the published table adjusts by 0 %.
DEFAULT_POWER_FACTOR = Decimal("0.90")
CARRY = "estimate_carry"

# Hold rules, in the order a reviewer reads them.
FIRST, FINAL, ESTIMATED, NEGATIVE, HIGH, READ_FINDINGS = (
    "first_bill", "final_bill", "estimated_read", "negative_bill", "high_amount", "open_read_finding")


class NegativeUse(BillingError):
    """The period's registers went backwards (a misread, a rollover, a swapped meter): no bill can
    be priced until the read is decided in the review queue."""

    code = "negative_use"


@dataclass(frozen=True)
class HoldRules:
    high_multiple: int = 3  # hold a bill above this many times the account's own average
    average_of: int = 6  # ... of its last issued bills
    due_days: int = 15  # from the issue date


@dataclass(frozen=True)
class Made:
    draft: bills.Draft
    energy_wh: int
    holds: tuple[str, ...]
    detail: dict
    carry_ids: tuple[int, ...]


@dataclass(frozen=True)
class Facts:
    """What an account's bill for a month is drafted from, as read from the database: one
    account's by ``facts_of``, a chunk's at once by ``billing.bill_facts``."""

    removed_on: date | None  # the day its last meter came off, if none serves it any more
    used: Energy  # the month's use (``ReadMissing`` is raised before there are facts)
    year_before: Energy | None  # the use from 1 January to the month (None: a read of the year is missing)
    year_billed_wh: int  # ... and the use of the year's earlier months as the bill run billed them
    carries: tuple[tuple[int, int], ...]  # (id, difference_wh) of the estimates not carried yet
    earlier: tuple[tuple[str, int], ...]  # (state, total_fen) of the bills before the month, newest first
    open_findings: int


Price = Callable[..., Quote]  # ``billing.pricing.quote`` or a cache of it


def make(session: Session, account: Account, start: date, after: date, *, issue_on: date, rules: HoldRules,
         tariffs: Mapping[str, Tariff]) -> Made:
    """The draft of ``account``'s bill for ``start .. after - 1`` and why to hold it; raises a
    ``BillingError`` (naming the field) when it cannot be billed yet."""
    return draft(account, facts_of(session, account, start, after), start, after, issue_on=issue_on, rules=rules,
                 tariffs=tariffs)


def facts_of(session: Session, account: Account, start: date, after: date) -> Facts:
    removed = _removed_on(session, account)
    used = energy(session, account.id, start, after)
    try:
        year_before = energy(session, account.id, date(start.year, 1, 1), start)
    except ReadMissing:
        year_before = None
    return Facts(removed, used, year_before, _year_billed(session, account.id, start), tuple(_carries(session, account.id)),
                 _earlier(session, account.id, start), _open_findings(session, account.id))


def draft(account, facts: Facts, start: date, after: date, *, issue_on: date, rules: HoldRules,
          tariffs: Mapping[str, Tariff], price: Price = quote) -> Made:
    """The pure part of ``make``: ``account`` is anything with an Account's columns."""
    removed = facts.removed_on
    final = account.status == CLOSED and removed is not None and removed < after
    used = facts.used
    if used.total_wh < 0:
        raise NegativeUse(f"the registers fell by {-used.total_wh} Wh from {start} to {after}", field="read_on")
    tariff = find_tariff(account.tariff_id or DEFAULT_TARIFFS[account.category], tariffs)
    usage = _usage(tariff, account, facts, start, move_out=removed - timedelta(days=1) if final else None)
    priced = price(tariff, start, after - timedelta(days=1), usage, tariffs)
    carried = _carry_lines(priced, facts.carries)
    # Without carries the quote's own lines, the same tuple for every account with that quote: the
    # bill run checks each distinct tuple of lines once (``bill_batch``).
    lines = (_lines(priced) + tuple(carried) if carried else _lines(priced)) or _NO_USE
    # The days served: a move-in or a final read shortens the month.
    made = bills.Draft(account.id, priced.start, priced.end, issue_on + timedelta(days=rules.due_days), lines)
    total = sum(line.amount_fen for line in lines)
    holds, detail = _holds(facts, total, final=final, rules=rules)
    detail |= {"tariff": tariff.id, "energy_wh": used.total_wh, "total_fen": total}
    return Made(made, used.total_wh, holds, detail, tuple(carry_id for carry_id, _ in facts.carries))


def _removed_on(session: Session, account: Account) -> date | None:
    spans = session.execute(select(MeterInstallation.removed_on).where(MeterInstallation.account_id == account.id)).all()
    return last_removed([removed for (removed,) in spans])


def last_removed(removed: list[date | None]) -> date | None:
    """The day an account's last meter came off (of its installations' removal days), if none serves it any more."""
    if not removed or any(day is None for day in removed):
        return None
    return max(removed)


def _usage(tariff: Tariff, account, facts: Facts, start: date, *, move_out: date | None) -> Usage:
    two_part = tariff.kind == TWO_PART
    return Usage(facts.used.total_wh, _buckets(tariff, facts.used), before_wh=_year_before(tariff, facts, start),
                 move_in=account.opened_on, move_out=move_out,
                 capacity_kva=(account.capacity_kva or DEFAULT_CAPACITY_KVA) if two_part else None,
                 power_factor=DEFAULT_POWER_FACTOR if two_part else None)


def _buckets(tariff: Tariff, used: Energy) -> dict[str, int]:
    """The TOU registers' use, where the tariff prices by them.  A resident's tiers take 峰谷 only
    when the registers are exactly peak and valley and add up; otherwise the total is priced."""
    buckets = {name: wh for name, wh in used.registers_wh.items() if wh}
    if tariff.kind == SINGLE:
        return {}
    if tariff.kind == TIERED:
        tou = set(tariff.versions[-1].tiers[0].tou)
        return buckets if buckets and set(buckets) <= tou and sum(buckets.values()) == used.total_wh else {}
    return buckets


def _year_before(tariff: Tariff, facts: Facts, start: date) -> int:
    """Annual tiers: the use since 1 January from the freezes; where a freeze of the year is missing
    (a manual meter read on other days), the use of the earlier months as the bill run billed them."""
    if tariff.kind != TIERED or tariff.tier_period != ANNUAL or (start.month, start.day) == (1, 1):
        return 0
    return facts.year_before.total_wh if facts.year_before is not None else facts.year_billed_wh


def _year_billed(session: Session, account_id: int, start: date) -> int:
    run = BillRunAccount
    return int(session.execute(
        select(func.coalesce(func.sum(run.energy_wh), 0)).join(Bill, Bill.id == run.bill_id)
        .where(run.account_id == account_id, run.period_start >= date(start.year, 1, 1), run.period_start < start,
               Bill.state != CANCELLED)).scalar())  # PostgreSQL sums to a Decimal


_NO_USE = (bills.Line("no_use", "bill.line.no_use", 0),)


@lru_cache(maxsize=4096)
def _lines(priced: Quote) -> tuple[bills.Line, ...]:
    """A quote's bill lines, made once per distinct quote: the accounts of a bill run share a few
    (``QuoteCache``), and hashing one costs a fraction of making its lines."""
    return tuple(bills.Line(line.kind, f"bill.line.{line.kind}", line.amount_fen, line.wh, line.price_millifen_per_kwh)
                 for line in priced.lines)


def _carries(session: Session, account_id: int) -> list[tuple[int, int]]:
    return list(session.execute(select(EstimateCarry.id, EstimateCarry.difference_wh).where(
        EstimateCarry.account_id == account_id, EstimateCarry.carried_on_bill_id.is_(None)).order_by(EstimateCarry.id)))


def _carry_lines(priced: Quote, carries: tuple[tuple[int, int], ...]) -> list[bills.Line]:
    """Each superseded estimate's difference, priced at the period's first energy price (tier 1,
    峰, or the single price): the estimate was billed at the bottom of the period's prices."""
    wh = [difference for _, difference in carries if difference]
    price = next((line.price_millifen_per_kwh for line in priced.lines if line.price_millifen_per_kwh is not None
                  and not line.kind.startswith("surcharge:")), None)
    if not wh or price is None:
        return []
    return [bills.Line(CARRY, f"bill.line.{CARRY}", _amount(difference, price), difference, price) for difference in wh]


def _amount(wh: int, price: int) -> int:
    return round_half_up(wh * price, bills.WH_MILLIFEN_PER_FEN)


def _earlier(session: Session, account_id: int, start: date) -> tuple[tuple[str, int], ...]:
    return tuple(tuple(row) for row in session.execute(select(Bill.state, Bill.total_fen).where(
        Bill.account_id == account_id, Bill.period_start < start, Bill.state != CANCELLED, NOT_A_FEE_BILL)
        .order_by(Bill.period_start.desc(), Bill.id.desc())).all())


def _open_findings(session: Session, account_id: int) -> int:
    return session.execute(select(func.count()).select_from(ReviewItem).where(
        ReviewItem.account_id == account_id, ReviewItem.kind == READ_FINDING, ReviewItem.status == OPEN)).scalar()


def _holds(facts: Facts, total: int, *, final: bool, rules: HoldRules) -> tuple[tuple[str, ...], dict]:
    issued = [fen for state, fen in facts.earlier if state == ISSUED][:rules.average_of]
    average = sum(issued) // len(issued) if issued else 0
    findings = facts.open_findings
    fired = {FIRST: not facts.earlier, FINAL: final, ESTIMATED: facts.used.estimated, NEGATIVE: total < 0,
             HIGH: average > 0 and total > rules.high_multiple * average, READ_FINDINGS: findings > 0}
    detail = {"average_fen": average, "bills_averaged": len(issued), "open_read_findings": findings}
    return tuple(rule for rule, hit in fired.items() if hit), detail
