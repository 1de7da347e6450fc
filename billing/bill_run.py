"""The monthly bill run (抄核收's 收 begins here): every post-paid account of a month, optionally of
one district, gets its bill, issued at once or held for review.

Prepaid (智能交费) accounts are not billed here: they are charged day by day by the daily settlement.

Crash-safe and idempotent by construction: accounts are billed in chunks, each chunk one
transaction that writes the bills together with their rows in ``bill_run_account`` (primary key
account and period).  A run killed anywhere loses at most the chunk in flight, which rolls back
whole; any rerun bills only the accounts without a row, in the same order, so the end state is the
one a single clean run leaves.  An account that cannot be billed yet (a missing read, a use its
tariff cannot price) gets no row and is counted by reason; the next run tries it again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, exists, insert, or_, select, update
from sqlmodel import Session

from billing import bills
from billing.accounts import CLOSED, POSTPAID, Account, District
from billing.bill_drafts import HoldRules, Made, make
from billing.bill_records import CANCELLED, Bill
from billing.bill_run_records import RUN_HELD, RUN_ISSUED, BillRunAccount
from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.errors import BillingError, InvalidInput, NotFound
from billing.meters import MeterInstallation
from billing.reads import EstimateCarry
from billing.review import open_item
from billing.tariff_files import Tariff, shipped_tariffs

BILL_REVIEW = "bill"  # the review queue's kind for a held bill
CHUNK = 200  # accounts per transaction
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
    for first in range(0, len(ids), chunk):
        with unit_of_work(engine) as db:
            _lock(db, ids[first:first + chunk])
            for account_id in ids[first:first + chunk]:
                _bill(db, account_id, start, after, now=now, rules=rules, tariffs=tariffs, result=result)
        if progress is not None:
            progress(min(first + chunk, len(ids)), len(ids))
    return result


def _lock(session: Session, account_ids: list[int]) -> None:
    """Two runs at once on PostgreSQL: the second waits for the first's chunk, then finds its rows and
    skips those accounts.  FOR NO KEY UPDATE, so that payments (whose allocation rows refer to the
    account, a KEY SHARE lock) are not held up.  SQLite's write lock serialises runs already."""
    session.execute(select(Account.id).where(Account.id.in_(account_ids)).order_by(Account.id)
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


def _bill(session: Session, account_id: int, start: date, after: date, *, now: datetime, rules: HoldRules,
          tariffs: Mapping[str, Tariff], result: RunResult) -> None:
    account = session.get(Account, account_id)
    if _has_bill(session, account_id, start, after):
        result.already += 1
        return
    try:
        made = make(session, account, start, after, issue_on=beijing_date(now), rules=rules, tariffs=tariffs)
    except BillingError as error:
        reason = error.code if error.code != "invalid_input" else f"{error.code}:{error.field}"
        result.not_billed[reason] += 1
        shown = result.not_billed_accounts.setdefault(reason, [])
        if len(shown) < SHOWN_NOT_BILLED:
            shown.append(account.account_no)
        return
    _write(session, account, made, start, now=now)
    if made.holds:
        result.held += 1
        result.held_by_rule.update(made.holds)
    else:
        result.issued += 1


def _has_bill(session: Session, account_id: int, start: date, after: date) -> bool:
    """A bill of this run, or one made by hand for the same month, that is not cancelled."""
    billed = select(BillRunAccount.account_id).where(BillRunAccount.account_id == account_id,
                                                      BillRunAccount.period_start == start)
    by_hand = select(Bill.id).where(and_(Bill.account_id == account_id, Bill.period_start >= start,
                                         Bill.period_start < after, Bill.state != CANCELLED))
    return session.execute(billed).first() is not None or session.execute(by_hand).first() is not None


def _write(session: Session, account: Account, made: Made, start: date, *, now: datetime) -> None:
    """The bill (held or issued), its run row, its carried estimates, and a review item if held."""
    bill = bills.create(session, made.draft, now=now, hold=bool(made.holds))
    row = {"period_start": start, "account_id": account.id, "bill_id": bill.id, "energy_wh": made.energy_wh,
           "outcome": RUN_HELD if made.holds else RUN_ISSUED, "created_at": now}
    # A plain insert: a second run racing this one fails on the primary key and rolls its chunk back.
    session.execute(insert(BillRunAccount.__table__), row)
    if made.carry_ids:
        session.execute(update(EstimateCarry).where(EstimateCarry.id.in_(made.carry_ids)).values(carried_on_bill_id=bill.id))
    if made.holds:
        open_item(session, kind=BILL_REVIEW, rule=made.holds[0], subject_on=start, at=now, account_id=account.id,
                  district_id=account.district_id,
                  detail={"bill_id": bill.id, "rules": list(made.holds), **made.detail})
