"""The demo county's bills: every finished month of its reads billed, reviewed and paid the way the
county does it, so that bills, arrears, aging and the held-bill desk have a history to show.

Month by month (``_month``): the bill run on the 3rd of the next month (``run_bills``), the reviewer
approving what it held at the held-bill desk (``bill_review.approve``), then the post-paid 户号
paying at the counter as each one's habit says: on time, late, half of what it owes, or not at all
(some from the start, some from a month on).  Prepaid 户号 are not billed: each morning the daily
settlement charges them the day before (``settle_day``), and a 户号 whose balance fell below its
threshold tops up at the counter that day, most at once, a few only once they are well below zero
(so the demo has ``balance_low`` and ``balance_negative`` events and 户号 to cut off).  The last month is billed on the demo's day, after the day's read checks: the
reviewer first estimates (估抄) the misread month-end reads the checks found, approves the bills held
only for their size, and leaves the bills held on a read in the queue.

Payments go through ``pay`` (the portal hands in the counter's ``take_payment``; demo must not import
payments), one receipt of at most ``receipt_max_fen`` each.  Deterministic from the seed.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from billing import bill_review, ledger, review_actions
from billing.accounts import POSTPAID, PREPAID, Account
from billing.bill_drafts import FIRST, HIGH
from billing.bill_records import CANCELLED, HELD, ISSUED, Bill
from billing.bill_run import BILL_REVIEW, run_bills
from billing.bill_status import BUCKETS, OVERDUE, PAID, BillStatus, aging, bill_statuses
from billing.clock import beijing_date, from_beijing
from billing.daily_settlement import settle_day
from billing.db import read_session, unit_of_work
from billing.late_fee_posting import LateFeePosting
from billing.errors import BillingError
from billing.read_rules import ReadRules
from billing.residents import Binding, Resident
from billing.review import READ_FINDING, open_items
from billing.staff import StaffUser
from demo.county import FIRST_LOGIN, SECOND_LOGIN
from demo.reads import day_range
from demo.trouble import find_trouble

RUN_DAY, RUN_HOUR = 3, 9  # the bill run: the 3rd of the next month, 09:00 Beijing
REVIEW_AFTER = timedelta(hours=2)  # the reviewer gets to the held bills
APPROVED_IN_LAST_MONTH = {FIRST, HIGH}  # held only for these, a bill of the last month is approved
ESTIMATED_RULES = ("negative_use", "high_use")  # month-end read findings the reviewer estimates
LATE_DAYS = 12  # a late payer pays up to this many days after the due date
OFTEN_LATE = 8  # percent of months a prompt payer pays late all the same

PROMPT, LATE, PART, STOPS, NEVER = "prompt", "late", "part", "stops", "never"
HABITS = {PROMPT: 55, LATE: 18, PART: 10, STOPS: 10, NEVER: 7}  # percent of post-paid 户号
SETTLE_HOUR = 1  # the daily settlement of yesterday, 01:00 Beijing
TOP_UP_FEN = (10000, 20000, 30000)  # a prepaid top-up: this much above what the balance lacks
LAPSES = 15  # percent of prepaid 户号 that top up only once their balance is below ...
LAPSE_FEN = -5000  # ... minus 50 元
# The demo logins' post-paid 户号: the first owes (overdue, part paid), the second pays on time.
LOGIN_HABITS = {FIRST_LOGIN: PART, SECOND_LOGIN: PROMPT}


@dataclass(frozen=True)
class Payment:
    """Money taken at the counter: ``ref`` is 16 hex digits the receipt number is made of."""

    at: datetime
    account_no: str
    amount_fen: int
    method: str  # cash | card
    ref: str
    cashier_id: int


Pay = Callable[[Session, Payment], None]


@dataclass
class DemoBills:
    months: list[str] = field(default_factory=list)
    issued: int = 0
    held: int = 0  # still in the review queue
    not_billed: Counter = field(default_factory=Counter)  # reason -> 户号, over all months
    payments: int = 0
    states: Counter = field(default_factory=Counter)  # paid_on_time, paid_late, part_paid, overdue, not_due
    past_due_fen: dict[str, int] = field(default_factory=dict)  # aging buckets over every account
    late_fees: int = 0  # fee bills posted (by the bill runs and by payments completing overdue bills)
    late_fee_fen: int = 0
    settled_days: int = 0  # prepaid 户号-days charged by the daily settlement
    low: int = 0  # balance_low events
    negative: int = 0  # balance_negative events
    top_ups: int = 0  # prepaid counter receipts
    estimated: int = 0  # month-end reads the reviewer estimated before the last run
    found: dict[str, int] = field(default_factory=dict)  # the read checks of the demo's day


@dataclass(frozen=True)
class _Due:
    """A payer's visit to the counter; what they owe is read when they come."""

    at: datetime
    account_no: str
    half: bool


@dataclass(frozen=True)
class _Desk:
    reviewer_id: int
    cashier_id: int


@dataclass
class _County:
    """What each month of the demo's billing works with."""

    engine: Engine
    rng: random.Random
    desk: _Desk
    habits: dict[int, tuple[str, int]]  # account id -> (habit, the month a STOPS payer stops)
    top_up_below: dict[int, int]  # prepaid account id -> the balance under which it tops up
    pay: Pay
    receipt_max_fen: int
    result: DemoBills


def add_bills(engine: Engine, *, seed: int, now: datetime, first_read: date, pay: Pay, receipt_max_fen: int,
              rules: ReadRules = ReadRules()) -> DemoBills:
    """Bill, review and pay every finished month of the demo county just loaded (``first_read``: its
    first read day); returns what it did and the bills' states on the demo's day."""
    rng = random.Random(f"bills:{seed}")
    periods = _finished_months(first_read, beijing_date(now))
    runs = [_run_at(period) for period in periods[:-1]] + [now]
    county = _County(engine, rng, _desk(engine), _habits(engine, rng, len(periods)), _top_up_below(engine, rng), pay,
                     receipt_max_fen, DemoBills(months=[f"{year}-{month:02d}" for year, month in periods]))
    for day in day_range(first_read + timedelta(days=1), beijing_date(runs[0]) - timedelta(days=1)):
        _prepaid_morning(county, day, now)
    for n, period in enumerate(periods):
        last = n == len(periods) - 1
        if last:
            county.result.found = find_trouble(engine, rules=rules, first_read=first_read, now=now)
            county.result.estimated = _estimate_month_end(engine, period, county.desk, now)
        _month(county, period, n, run_at=runs[n], until=now if last else runs[n + 1], approve_all=not last, now=now)
    _states(engine, beijing_date(now), county.result)
    return county.result


def _finished_months(first_read: date, today: date) -> list[tuple[int, int]]:
    """The months whose last freeze (the 1st of the next month) is among the reads (to yesterday)."""
    periods, start = [], first_read if first_read.day == 1 else _next_month(first_read)
    while _next_month(start) < today:
        periods.append((start.year, start.month))
        start = _next_month(start)
    return periods


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _run_at(period: tuple[int, int]) -> datetime:
    run_day = _next_month(date(*period, 1)).replace(day=RUN_DAY)
    return from_beijing(datetime.combine(run_day, time(RUN_HOUR)))


def _desk(engine) -> _Desk:
    with read_session(engine) as db:
        ids = dict(db.execute(select(StaffUser.username, StaffUser.id)).all())
    return _Desk(ids["reviewer1"], ids["cashier1"])


def _habits(engine, rng: random.Random, months: int) -> dict[int, tuple[str, int]]:
    """Each post-paid account's habit and, for one that stops paying, the month it stops; every habit
    has at least one account (when there are enough), the demo logins' 户号 have theirs."""
    with read_session(engine) as db:
        ids = list(db.execute(select(Account.id).where(Account.regime == POSTPAID).order_by(Account.account_no))
                   .scalars())
        shown = dict(db.execute(select(Binding.account_id, Resident.phone).join(Resident, Resident.id == Binding.resident_id)
                                .where(Resident.phone.in_(LOGIN_HABITS))).all())
    rng.shuffle(ids)
    names = list(HABITS)
    chosen = names[:len(ids)] + rng.choices(names, weights=list(HABITS.values()), k=max(0, len(ids) - len(names)))
    habits = {account_id: (habit, rng.randrange(1, max(2, months))) for account_id, habit in zip(ids, chosen)}
    for account_id, phone in shown.items():
        if account_id in habits:
            habits[account_id] = (LOGIN_HABITS[phone], months)
    return habits


def _month(county: _County, period: tuple[int, int], n: int, *, run_at: datetime, until: datetime,
           approve_all: bool, now: datetime) -> None:
    """One month of the county's billing: the run, the review, then day by day the prepaid morning
    and the payments up to ``until`` (the next month's run, whose day the next month goes on from)."""
    run = run_bills(county.engine, period, now=run_at)
    county.result.not_billed.update(run.not_billed)
    _review(county.engine, county.desk, at=min(run_at + REVIEW_AFTER, until) if approve_all else run_at,
            approve_all=approve_all)
    dues: dict[date, list[_Due]] = {}
    for due in sorted(_payments(county, period, n, until), key=lambda d: (d.at, d.account_no)):
        dues.setdefault(beijing_date(due.at), []).append(due)
    for day in day_range(beijing_date(run_at), beijing_date(until) - timedelta(days=0 if until == now else 1)):
        _prepaid_morning(county, day, now)
        if day in dues:
            with unit_of_work(county.engine) as db:  # the counter's day
                for due in dues[day]:
                    county.result.payments += _take(db, county, due)


def _top_up_below(engine, rng: random.Random) -> dict[int, int]:
    with read_session(engine) as db:
        prepaid = db.execute(select(Account.id, Account.balance_low_fen).where(Account.regime == PREPAID)
                             .order_by(Account.account_no)).all()
    return {account_id: LAPSE_FEN if rng.randrange(100) < LAPSES else low for account_id, low in prepaid}


def _prepaid_morning(county: _County, day: date, now: datetime) -> None:
    """Yesterday settled at 01:00, then the prepaid 户号 under their line top up at the counter."""
    settled = settle_day(county.engine, day - timedelta(days=1),
                         now=min(from_beijing(datetime.combine(day, time(SETTLE_HOUR))), now))
    county.result.settled_days += settled.charged
    county.result.low += settled.low
    county.result.negative += settled.negative
    with unit_of_work(county.engine) as db:
        ids = list(county.top_up_below)
        balances = ledger.customer_balances(db, ids)
        numbers = dict(db.execute(select(Account.id, Account.account_no).where(Account.id.in_(ids))).all())
        for account_id in ids:
            if balances.get(account_id, 0) >= county.top_up_below[account_id]:
                continue
            at = from_beijing(datetime.combine(day, time(10)) + timedelta(minutes=county.rng.randrange(8 * 60)))
            if at >= now:
                continue
            amount = -min(0, balances.get(account_id, 0)) + county.rng.choice(TOP_UP_FEN)
            county.pay(db, Payment(at, numbers[account_id], amount, county.rng.choice(("cash", "card")),
                                   f"{county.rng.getrandbits(64):016X}", county.desk.cashier_id))
            county.result.top_ups += 1


def _review(engine, desk: _Desk, *, at: datetime, approve_all: bool) -> None:
    with unit_of_work(engine) as db:
        for item in open_items(db, kind=BILL_REVIEW):
            if approve_all or set(item.details["rules"]) <= APPROVED_IN_LAST_MONTH:
                bill_review.approve(db, item.id, staff_id=desk.reviewer_id, now=at, note="演示：复核无误")


def _estimate_month_end(engine, period: tuple[int, int], desk: _Desk, now: datetime) -> int:
    """The reviewer's 估抄 of each post-paid meter whose month-end read the checks found wrong."""
    month_end = _next_month(date(*period, 1))
    done = 0
    with unit_of_work(engine) as db:
        postpaid = set(db.execute(select(Account.id).where(Account.regime == POSTPAID)).scalars())
        for item in open_items(db, kind=READ_FINDING):
            if item.rule not in ESTIMATED_RULES or item.account_id not in postpaid:
                continue
            if review_actions.subject_day(db, item) != month_end:
                continue
            try:
                with db.begin_nested():
                    review_actions.estimate(db, item.id, staff_id=desk.reviewer_id, now=now, note="演示：示数有误，按历史估抄")
                done += 1
            except BillingError:
                continue  # not enough history to estimate: it stays in the queue
    return done


def _payments(county: _County, period: tuple[int, int], n: int, until: datetime) -> list[_Due]:
    """This month's bills as their payers will pay them, before ``until``."""
    rng = county.rng
    with read_session(county.engine) as db:
        issued = db.execute(select(Bill.account_id, Account.account_no, Bill.issue_date, Bill.due_date)
                            .join(Account, Account.id == Bill.account_id)
                            .where(Bill.period_start == date(*period, 1), Bill.state == ISSUED)
                            .order_by(Account.account_no)).all()
    payments = []
    for account_id, account_no, issued_on, due in issued:
        habit, stops_at = county.habits[account_id]
        day = _pay_day(habit, stops_at, n, issued_on, due, rng)
        if day is None:
            continue
        at = from_beijing(datetime.combine(day, time(9)) + timedelta(minutes=rng.randrange(8 * 60)))
        if at < until:
            payments.append(_Due(at, account_no, half=habit == PART))
    return payments


def _pay_day(habit: str, stops_at: int, n: int, issued_on: date, due: date, rng: random.Random) -> date | None:
    if habit == NEVER or (habit == STOPS and n >= stops_at):
        return None
    late = habit == LATE or (habit in (PROMPT, STOPS) and rng.randrange(100) < OFTEN_LATE)
    if late:
        return due + timedelta(days=rng.randint(1, LATE_DAYS))
    return issued_on + timedelta(days=rng.randint(1, max(1, (due - issued_on).days)))


def _take(db: Session, county: _County, due: _Due) -> int:
    """Pay what the account owes then (half of it in whole yuan, for a part payer), in receipts of
    at most ``receipt_max_fen``; returns how many receipts."""
    method = county.rng.choice(("cash", "card"))
    owed = -ledger.balance_fen(db, ledger.customer_code(due.account_no))
    amount = owed // 200 * 100 if due.half else owed
    receipts = 0
    while amount >= 100:  # the counter takes at least 1 元
        part = min(amount, county.receipt_max_fen)
        county.pay(db, Payment(due.at, due.account_no, part, method, f"{county.rng.getrandbits(64):016X}",
                               county.desk.cashier_id))
        amount -= part
        receipts += 1
    return receipts


def _states(engine, today: date, result: DemoBills) -> None:
    """The issued bills' states on the demo's day (the fee bills counted apart), paid ones split by
    whether they were paid by their due date, and the aging of what every account owes."""
    with read_session(engine) as db:
        result.held = len(open_items(db, kind=BILL_REVIEW))
        fees = dict(db.execute(select(Bill.id, Bill.total_fen).join(LateFeePosting, LateFeePosting.fee_bill_id == Bill.id)
                               .where(Bill.state == ISSUED)).all())
        result.late_fees, result.late_fee_fen = len(fees), sum(fees.values())
        now_states = bill_statuses(db, on=today)
        issued = {bill_id: s for bill_id, s in now_states.items() if s.state not in (HELD, CANCELLED) and bill_id not in fees}
        result.issued = len(issued)
        for due in {s.due_date for s in issued.values()}:
            by_due = [bill_id for bill_id, s in issued.items() if s.due_date == due]
            on_due = bill_statuses(db, on=due, bill_ids=by_due)
            for bill_id in by_due:
                result.states[_state(issued[bill_id], on_due[bill_id].state)] += 1
        result.past_due_fen = dict.fromkeys((label for _, label in BUCKETS), 0)
        for account_id in db.execute(select(Account.id).where(Account.regime == POSTPAID)).scalars():
            for label, fen in aging(db, account_id, on=today).past_due_fen.items():
                result.past_due_fen[label] += fen


def _state(now: BillStatus, on_due: str) -> str:
    if now.state == PAID:
        return "paid_on_time" if on_due == PAID else "paid_late"
    if now.paid_fen:
        return "part_paid"
    return "overdue" if now.state == OVERDUE else "not_due"
