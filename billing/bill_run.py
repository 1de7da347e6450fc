"""The monthly bill run (抄核收's 收 begins here): every post-paid account of a month, optionally of
one district, gets its bill, issued at once or held for review.

Prepaid (智能交费) accounts are not billed here: they are charged day by day by the daily settlement.

Set-based: a chunk of accounts is one transaction that locks them, reads their facts with a few set
queries (``billing.bill_facts``), drafts each bill with the pure half of ``billing.bill_drafts``
(pricing through a ``QuoteCache``), and writes the bills and everything issuing them writes a
table at a time (``billing.bill_batch``): the same rows as ``bills.create`` account by account.
Before its bills, a chunk posts its accounts' late fees accrued to the issue date
(``late_fee_posting.post_late_fees``: each a fee bill of its own, due at once).

Crash-safe and idempotent by construction: each chunk writes the bills together with their rows
in ``bill_run_account`` (primary key account and period).  A run killed anywhere loses at most the
chunk in flight, which rolls back whole; any rerun bills only the accounts without a row, in the
same order, so the end state is the one a single clean run leaves.  An account that cannot be billed yet (a missing read, a use its
tariff cannot price) gets no row and is counted by reason; the next run tries it again.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import exists, or_, select
from sqlmodel import Session

from billing.accounts import CLOSED, POSTPAID, Account, District
from billing.bill_batch import BILL_REVIEW, Billed, write
from billing.bill_drafts import HoldRules, draft
from billing.bill_facts import billed_already, chunk_facts
from billing.bill_run_records import BillRunAccount
from billing.clock import beijing_date
from billing.db import among, read_session, unit_of_work
from billing.errors import BillingError, InvalidInput, NotFound
from billing.meters import MeterInstallation
from billing.pricing import QuoteCache
from billing.tariff_files import Tariff, shipped_tariffs
from billing.late_fee_posting import post_late_fees

__all__ = ["BILL_REVIEW", "CHUNK", "RunResult", "period_bounds", "run_bills"]

CHUNK = 5_000  # accounts per transaction
SHOWN_NOT_BILLED = 20  # account numbers kept per reason, for the report

Progress = Callable[[int, int], None]


@dataclass
class RunResult:
    period: str
    accounts: int = 0  # candidates this run (without a row from an earlier run)
    issued: int = 0
    held: int = 0
    held_by_rule: Counter = field(default_factory=Counter)  # a bill held for several rules counts under each
    already: int = 0  # billed meanwhile (another run, or a bill made by hand for the period)
    not_billed: Counter = field(default_factory=Counter)  # reason -> accounts left for a later run
    not_billed_accounts: dict[str, list[str]] = field(default_factory=dict)
    late_fees: int = 0  # fee bills posted (违约金 accrued on overdue bills to the issue date)
    late_fee_fen: int = 0


def period_bounds(period: tuple[int, int], now: datetime) -> tuple[date, date]:
    """The month's first day and the next month's first day; refused unless the month is over
    (its last 00:00 freeze, on the 1st of the next month, has happened in Beijing)."""
    year, month = period
    if not (isinstance(year, int) and isinstance(month, int) and 2000 <= year <= 9998 and 1 <= month <= 12):
        shown = "-".join(str(part) for part in period) if isinstance(period, tuple) else repr(period)
        raise InvalidInput("period", f"{shown} is not a month from 2000-01 to 9998-12, such as 2026-10")
    start = date(year, month, 1)
    after = date(year + month // 12, month % 12 + 1, 1)
    today = beijing_date(now)
    if after > today:
        what = "in the future" if start > today else "not over yet"
        raise InvalidInput("period", f"{year}-{month:02d} is {what}: a month is billed from the 1st of the next month "
                                     f"(today is {today} in Beijing)")
    return start, after


def run_bills(engine, period: tuple[int, int], *, district: str | None = None, now: datetime,
              progress: Progress | None = None, rules: HoldRules = HoldRules(),
              tariffs: Mapping[str, Tariff] | None = None, chunk: int = CHUNK) -> RunResult:
    """Bill ``period`` (year, month) for every post-paid account (of ``district``, a district code)."""
    start, after = period_bounds(period, now)
    tariffs = shipped_tariffs() if tariffs is None else tariffs
    with read_session(engine) as db:
        ids = _candidates(db, start, after, _district_id(db, district))
    result = RunResult(f"{start:%Y-%m}", accounts=len(ids))
    price = QuoteCache()
    for first in range(0, len(ids), chunk):
        with _no_cyclic_gc(), unit_of_work(engine) as db:
            _bill_chunk(db, ids[first:first + chunk], start, after, now=now, rules=rules, tariffs=tariffs, price=price,
                        result=result)
        if progress is not None:
            progress(min(first + chunk, len(ids)), len(ids))
    return result


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """A chunk makes some hundred thousand short-lived objects without cycles, which reference
    counting frees: the cyclic collector, run again and again meanwhile, only slowed the run down
    (by 40 % on 20,000 accounts)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _bill_chunk(session: Session, account_ids: list[int], start: date, after: date, *, now: datetime,
                rules: HoldRules, tariffs: Mapping[str, Tariff], price: QuoteCache, result: RunResult) -> None:
    """One chunk, one transaction: lock its accounts, read their facts, draft, write the bills."""
    _lock(session, account_ids)
    already = billed_already(session, account_ids, start, after)
    result.already += len(already)
    chunk = chunk_facts(session, [account_id for account_id in account_ids if account_id not in already], start, after)
    issue_on, billed = beijing_date(now), []
    fees = post_late_fees(session, account_ids, on=issue_on, now=now)
    result.late_fees += len(fees)
    result.late_fee_fen += sum(fee.unposted_fen for fee in fees)
    for account in chunk.accounts:
        try:
            if account.id in chunk.errors:
                raise chunk.errors[account.id]
            made = draft(account, chunk.facts[account.id], start, after, issue_on=issue_on, rules=rules,
                         tariffs=tariffs, price=price)
        except BillingError as error:
            _not_billed(result, account.account_no, error)
            continue
        billed.append(Billed(account, made))
        if made.holds:
            result.held += 1
            result.held_by_rule.update(made.holds)
        else:
            result.issued += 1
    write(session, billed, start, now=now)


def _not_billed(result: RunResult, account_no: str, error: BillingError) -> None:
    reason = error.code if error.code != "invalid_input" else f"{error.code}:{error.field}"
    result.not_billed[reason] += 1
    shown = result.not_billed_accounts.setdefault(reason, [])
    if len(shown) < SHOWN_NOT_BILLED:
        shown.append(account_no)


def _lock(session: Session, account_ids: list[int]) -> None:
    """Two runs at once on PostgreSQL: the second waits for the first's chunk, then finds its rows and
    skips those accounts.  FOR NO KEY UPDATE, so that payments (whose allocation rows refer to the
    account, a KEY SHARE lock) are not held up.  SQLite's write lock serialises runs already."""
    session.execute(select(Account.id).where(among(session, Account.id, account_ids)).order_by(Account.id)
                    .with_for_update(key_share=True)).all()


def _district_id(session: Session, code: str | None) -> int | None:
    if code is None:
        return None
    found = session.execute(select(District.id).where(District.code == code)).scalar()
    if found is None:
        raise NotFound(f"no district {code!r}", field="district")
    return found


def _candidates(session: Session, start: date, after: date, district_id: int | None) -> list[int]:
    """Post-paid accounts served in the period without a bill of this run; a closed account only
    for its final month (its last meter came off in the period)."""
    removed_in_period = exists().where(MeterInstallation.account_id == Account.id,
                                       MeterInstallation.removed_on >= start, MeterInstallation.removed_on < after)
    billed = exists().where(BillRunAccount.account_id == Account.id, BillRunAccount.period_start == start)
    query = select(Account.id).where(Account.regime == POSTPAID, Account.opened_on < after, ~billed,
                                     or_(Account.status != CLOSED, removed_in_period)).order_by(Account.id)
    if district_id is not None:
        query = query.where(Account.district_id == district_id)
    return list(session.execute(query).scalars())
