"""违约金 (late fees on arrears), by 供电营业规则 Art. 98: pure and exact.

Residential users pay 1‰ of the arrears per day; other users (non-residential, large industry) 2‰
per day on current-year arrears and 3‰ per day on cross-year arrears.  Days are counted from the day
after the due date to the day of payment, both inclusive (due 10 March, paid 12 March: 2 days).

"Cross-year" is read as: the overdue days that fall in a later calendar year than the due date, that
is every day after 31 December of the due date's year.  The due date's year stands for the bill's
year (a December bill due in January belongs to January's year).  A bill due on 31 December owes
3‰ from its first overdue day; one due on 30 December owes 2‰ for one day, then 3‰.

Arithmetic is integers only: a part (a run of days at one rate) is exactly
``arrears_fen x rate_permille x days`` millifen (1 fen = 1,000 millifen).  The parts are summed
exactly and the total is rounded half-up to the fen ONCE (``money.round_half_up``); a total above
zero but under 1 元 is charged as 1 元.  Residential days are split at 31 December too, both parts
at 1‰, so every computation shows the same shape; the split changes no figure.

Several arrears (the unpaid bills of an account) each get their own fee, rounded and held to the
1 元 minimum on their own, because each is a line on its own bill; their sum is the total.

One bill paid in slices (``bill_late_fee``): each slice owes from the day after the due date to the
day it was paid, what is still unpaid owes to the day asked about; the slices' exact parts are
summed and rounded once, and the 1 元 minimum holds for the bill's total fee, not for each slice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from billing.accounts import CATEGORIES, LARGE_INDUSTRY, NON_RESIDENTIAL, RESIDENTIAL
from billing.errors import InvalidAmount, InvalidInput
from billing.money import MAX_FEN, MILLIFEN_PER_FEN, require_fen, round_half_up

# Per mille per day: (current-year arrears, cross-year arrears).
RATES_PERMILLE = {RESIDENTIAL: (1, 1), NON_RESIDENTIAL: (2, 3), LARGE_INDUSTRY: (2, 3)}
MINIMUM_FEN = 100  # 总额不足 1 元者按 1 元收取
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Part:
    """A run of overdue days charged at one rate."""

    first_day: date
    last_day: date
    days: int
    rate_permille: int
    cross_year: bool
    exact_millifen: int


@dataclass(frozen=True)
class LateFee:
    """The late fee on one amount owed since one due date, paid (or asked about) on ``paid``."""

    category: str
    arrears_fen: int
    due: date
    paid: date
    days: int
    parts: tuple[Part, ...]
    exact_millifen: int  # the sum of the parts, before rounding
    late_fee_fen: int
    minimum_applied: bool

    @property
    def rates_permille(self) -> tuple[int, ...]:
        return tuple(sorted({part.rate_permille for part in self.parts}))


@dataclass(frozen=True)
class LateFees:
    """The late fees on several arrears of one account (one per unpaid bill) and their total."""

    fees: tuple[LateFee, ...]
    late_fee_fen: int


def late_fee(category: str, arrears_fen: int, due: date, paid: date) -> LateFee:
    """The 违约金 on ``arrears_fen`` overdue since ``due`` when paid on ``paid`` (Beijing dates)."""
    _check(category, arrears_fen, due, paid)
    parts = _parts(RATES_PERMILLE[category], arrears_fen, due, paid)
    exact = sum(part.exact_millifen for part in parts)
    rounded = round_half_up(exact, MILLIFEN_PER_FEN)
    charged = max(rounded, MINIMUM_FEN) if exact > 0 else 0
    if charged > MAX_FEN:
        raise InvalidAmount("arrears_fen", "the late fee would exceed the largest amount the ledger holds")
    return LateFee(category=category, arrears_fen=arrears_fen, due=due, paid=paid, days=(paid - due).days,
                   parts=parts, exact_millifen=exact, late_fee_fen=charged, minimum_applied=charged != rounded)


def late_fees(category: str, arrears: Iterable[tuple[int, date]], paid: date) -> LateFees:
    """The late fee of each ``(amount_fen, due)`` of an account, each rounded on its own, and the sum."""
    _check_category(category)
    fees = []
    for index, (amount_fen, due) in enumerate(arrears):
        try:
            fees.append(late_fee(category, amount_fen, due, paid))
        except InvalidInput as error:  # name the row: a bill run passes many
            raise type(error)(f"arrears[{index}].{error.field}", error.message) from error
    return LateFees(fees=tuple(fees), late_fee_fen=sum(fee.late_fee_fen for fee in fees))


def bill_late_fee(category: str, due: date, slices: Iterable[tuple[int, date]], on: date) -> int:
    """The 违约金 in fen on one bill paid in ``slices`` (``(amount_fen, paid_on)``; an amount still
    unpaid is given with ``paid_on`` = ``on``), accrued up to ``on``: a slice paid after ``on``
    accrues only to ``on``, a slice paid by the due date accrues nothing."""
    _check_category(category)
    exact = 0
    for amount_fen, paid_on in slices:
        until = min(paid_on, on)
        if amount_fen > 0 and until > due:
            exact += sum(part.exact_millifen for part in _parts(RATES_PERMILLE[category], amount_fen, due, until))
    return max(round_half_up(exact, MILLIFEN_PER_FEN), MINIMUM_FEN) if exact > 0 else 0


def _check_category(category: str) -> None:
    if category not in CATEGORIES:
        raise InvalidInput("category", f"{str(category)[:40]!r} is not one of {', '.join(CATEGORIES)}")


def _check(category: str, arrears_fen: int, due: date, paid: date) -> None:
    _check_category(category)
    if require_fen(arrears_fen, "arrears_fen") < 0:
        raise InvalidAmount("arrears_fen", "must not be negative")
    for field, day in (("due", due), ("paid", paid)):
        if isinstance(day, datetime) or not isinstance(day, date):
            raise InvalidInput(field, f"must be a date (Beijing), got {type(day).__name__}")
    if paid < due:
        raise InvalidInput("paid", f"{paid} is before the due date {due}: nothing is overdue yet")


def _parts(rates: tuple[int, int], arrears_fen: int, due: date, paid: date) -> tuple[Part, ...]:
    """The overdue days due+1..paid split at 31 December of the due date's year.  A day is added only
    below ``paid`` (never past 9999-12-31, the last date Python has)."""
    if paid == due:
        return ()
    first, year_end = due + ONE_DAY, date(due.year, 12, 31)
    parts = []
    if first <= year_end:
        parts.append(_part(arrears_fen, first, min(paid, year_end), rates[0], cross_year=False))
    if paid > year_end:
        parts.append(_part(arrears_fen, max(first, year_end + ONE_DAY), paid, rates[1], cross_year=True))
    return tuple(parts)


def _part(arrears_fen: int, first: date, last: date, rate_permille: int, cross_year: bool) -> Part:
    days = (last - first).days + 1
    return Part(first_day=first, last_day=last, days=days, rate_permille=rate_permille, cross_year=cross_year,
                exact_millifen=arrears_fen * rate_permille * days)
