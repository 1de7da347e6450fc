"""催费 within the law: the dunning ladder, run by ``dianfei dunning run`` (cron, every 15 minutes).

Post-paid: a reminder before a bill falls due and once it is overdue (the late fee itself is posted
by ``late_fee_posting``); after more than 30 days overdue a written disconnection notice with its
notice period (residential 7 days, others 3, counted from delivery); for non-residential a call task
an hour before the cut; a notice 30 minutes before; then the disconnection order.  Prepaid (智能交费):
a negative balance gets a notice that supply stops the next cut morning (08:00, weekends and
holidays skipped if so configured), then the same 30-minute notice and order.

An order goes out only when the written notice was delivered (the delivery log says so through a
``notice_delivered`` event, written by notifications) and never for a protected account: those are
held for staff.  Paying the arrears closes the case, or orders reconnection once supply was ordered cut.
An account keeping a payment plan (``payment_plans``) is left alone until the plan is broken, and an
account whose debt is marked bad (``bad_debt``) until it is paid or recovered: its history stays.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import BigInteger, Engine, Row, cast, exists, func, select
from sqlmodel import Session

from billing import events, payment_plans, supply_orders
from billing.accounts import ACTIVE, POSTPAID, PREPAID, RESIDENTIAL, SMART, Account, Meter
from billing.bad_debt_records import held_accounts
from billing.bill_records import ISSUED, Allocation, Bill
from billing.clock import BEIJING, beijing_date, beijing_minute as _shown, to_beijing
from billing.db import among, insert_ignoring_duplicates, unit_of_work
from billing.dunning_records import (
    CALL, CLEARED, CLOSING, DUE_SOON, NOTICE, NOTICE_DELIVERED, ORDERED, OVERDUE, PRE_CUT, PROTECTED, RECONNECT,
    UNDELIVERED,
    DunningStep,
)
from billing.errors import InvalidInput
from billing.events import Event
from billing.ledger import LedgerAccount
from billing.supply_order_records import FIELD, REMOTE



@dataclass(frozen=True)
class Ladder:
    due_soon_days: int = 3
    notice_after_days: int = 30  # more than this many days overdue
    residential_notice_days: int = 7
    other_notice_days: int = 3
    call_before: timedelta = timedelta(hours=1)
    pre_cut_before: timedelta = timedelta(minutes=30)
    cut_at: time = time(9, 0)
    prepaid_cut_at: time = time(8, 0)
    cut_on_weekends: bool = False
    holidays: frozenset[date] = frozenset()
    remote_restore: timedelta = timedelta(minutes=15)

    def working(self, day: date) -> bool:
        return (self.cut_on_weekends or day.weekday() < 5) and day not in self.holidays

    def cut_instant(self, day: date, at: time) -> datetime:
        """``at`` Beijing on ``day``, or on the first working day after it."""
        while not self.working(day):
            day += timedelta(days=1)
        return datetime.combine(day, at, tzinfo=BEIJING)

    def notice_days(self, category: str) -> int:
        return self.residential_notice_days if category == RESIDENTIAL else self.other_notice_days

    def restore_by(self, now: datetime, category: str, method: str) -> datetime:
        """Remote: within minutes; a field crew: within 1 working day (residential) or 2 (others)."""
        if method == REMOTE:
            return now + self.remote_restore
        day, left = beijing_date(now), 1 if category == RESIDENTIAL else 2
        while left:
            day += timedelta(days=1)
            left -= self.working(day)
        return datetime.combine(day, to_beijing(now).time(), tzinfo=BEIJING)


@dataclass(frozen=True)
class Debtor:
    account_id: int
    account_no: str
    category: str
    regime: str
    protected: bool
    method: str  # how its supply is cut and restored
    owed_fen: int  # overdue bills (post-paid), the negative balance (prepaid)
    oldest: tuple[int, date] | None = None  # the oldest overdue bill (post-paid)


@dataclass
class _Run:
    session: Session
    on: date
    now: datetime
    ladder: Ladder
    on_plan: set[int]  # accounts keeping a payment plan: the ladder waits
    taken: Counter = field(default_factory=Counter)

    def step(self, debtor: Debtor, case_ref: str, step: str, *, due_at: datetime | None = None, **detail) -> bool:
        """Take a step once: its row and its event; False when a run took it before."""
        row = {"account_id": debtor.account_id, "case_ref": case_ref, "step": step, "at": self.now, "due_at": due_at,
               "detail": json.dumps(detail, ensure_ascii=False, default=str)}
        taken = self.session.execute(insert_ignoring_duplicates(self.session, DunningStep.__table__,
                                                                ["account_id", "case_ref", "step"], "id"), row).first()
        if taken:
            events.emit(self.session, step, at=self.now, account_id=debtor.account_id, account_no=debtor.account_no,
                        case=case_ref, **detail)
            supply_orders.on_step(self.session, step_id=taken.id, step=step, account_id=debtor.account_id,
                                  case_ref=case_ref, method=detail.get("method"), due_at=due_at, now=self.now)
            self.taken[step] += 1
        return taken is not None


def run(engine: Engine, *, on: date, now: datetime, ladder: Ladder = Ladder()) -> Counter:
    """Every step due at ``now`` on business day ``on``; the count of steps taken, by step."""
    if on > beijing_date(now):
        raise InvalidInput("date", f"{on} is in the future: the ladder only acts on days that have begun")
    with unit_of_work(engine) as session:
        bad = held_accounts(session)
        work = _Run(session, on, now, ladder, payment_plans.review(session, on=on, now=now) | bad)
        bills = unpaid_bills(session, on + timedelta(days=ladder.due_soon_days))
        _remind(work, bills)
        debtors = {k: debtor for k, debtor in debtors_of(session, bills, on).items() if k not in bad}
        cases = {k: steps for k, steps in open_cases(session).items() if k not in bad}
        _advance(work, cases, debtors)
        _open(work, debtors, cases)
        return work.taken


def unpaid_bills(session: Session, due_by: date) -> list:
    """Issued bills not fully paid that fall due by ``due_by``, oldest first (what each still owes)."""
    a = Allocation.__table__
    paid = select(a.c.bill_id, func.sum(a.c.amount_fen).label("fen")).group_by(a.c.bill_id).subquery()
    owed = Bill.total_fen - func.coalesce(paid.c.fen, 0)
    return session.execute(
        select(Bill.id, Bill.account_id, Bill.number, Bill.due_date, cast(owed, BigInteger).label("owed"))
        .outerjoin(paid, paid.c.bill_id == Bill.id)
        .where(Bill.state == ISSUED, owed > 0, Bill.due_date <= due_by).order_by(Bill.due_date, Bill.id)).all()


def _remind(work: _Run, bills: list) -> None:
    """Before the due date and once overdue: one reminder per bill each (those sent before are
    read in one query and skipped, rather than tried again on every pass)."""
    accounts = {bill.account_id for bill in bills}
    sent = set(work.session.execute(select(DunningStep.case_ref, DunningStep.step).where(
        DunningStep.step.in_((DUE_SOON, OVERDUE)), among(work.session, DunningStep.account_id, accounts))).all())
    people = _accounts(work.session, accounts)
    for bill in bills:
        step = OVERDUE if bill.due_date < work.on else DUE_SOON if bill.due_date > work.on else None
        if step and bill.account_id not in work.on_plan and (f"bill:{bill.id}", step) not in sent:
            work.step(people[bill.account_id], f"bill:{bill.id}", step, bill_id=bill.id, number=bill.number,
                      amount_fen=bill.owed, due_date=bill.due_date.isoformat())


def _accounts(session: Session, account_ids: set[int], owed: dict[int, int] | None = None,
              oldest: dict[int, tuple[int, date]] | None = None) -> dict[int, Debtor]:
    rows = session.execute(select(Account.id, Account.account_no, Account.category, Account.regime, Account.protected,
                                  Meter.kind).join(Meter, Meter.id == Account.meter_id)
                           .where(among(session, Account.id, account_ids))).all()
    return {row.id: Debtor(row.id, row.account_no, row.category, row.regime, row.protected,
                           REMOTE if row.kind == SMART else FIELD, (owed or {}).get(row.id, 0),
                           (oldest or {}).get(row.id)) for row in rows}


def debtors_of(session: Session, bills: list, on: date) -> dict[int, Debtor]:
    """Who owes now: post-paid accounts with overdue bills, prepaid accounts below zero."""
    owed, oldest = Counter(), {}
    for bill in bills:
        if bill.due_date < on:
            owed[bill.account_id] += bill.owed
            oldest.setdefault(bill.account_id, (bill.id, bill.due_date))
    postpaid = _accounts(session, set(owed), owed, oldest)
    negative = dict(session.execute(
        select(Account.id, LedgerAccount.debits_fen - LedgerAccount.credits_fen)
        .join(LedgerAccount, LedgerAccount.account_id == Account.id)
        .where(Account.regime == PREPAID, LedgerAccount.code.startswith("customer:"),
               LedgerAccount.debits_fen > LedgerAccount.credits_fen)).all())
    prepaid = _accounts(session, set(negative), negative)
    return {**{k: d for k, d in postpaid.items() if d.regime == POSTPAID}, **prepaid}


def open_cases(session: Session) -> dict[int, dict[str, Row]]:
    """Each account's open case (its step rows by name): opened by a notice or a hold, not yet closed.
    Read as plain rows, not ORM objects: every pass reads them all."""
    steps, other = DunningStep.__table__, DunningStep.__table__.alias("other")
    closed = exists().where(other.c.account_id == steps.c.account_id, other.c.case_ref == steps.c.case_ref,
                            other.c.step.in_(CLOSING))
    rows = session.execute(select(steps).where(~closed, steps.c.step.notin_((DUE_SOON, OVERDUE)))
                           .order_by(steps.c.id))
    cases: dict[int, dict[str, Row]] = defaultdict(dict)
    for row in rows:
        cases[row.account_id][row.step] = row
    return cases


def _open(work: _Run, debtors: dict[int, Debtor], cases: dict) -> None:
    """A notice (or a hold, if protected) for debtors past the line who have no open case."""
    active = set(work.session.execute(select(Account.id).where(among(work.session, Account.id, debtors),
                                                               Account.status == ACTIVE)).scalars())
    for debtor in debtors.values():
        if debtor.account_id in cases or debtor.account_id not in active or debtor.account_id in work.on_plan:
            continue
        if debtor.regime == PREPAID:
            ref, cut = f"prepaid:{work.on}", work.ladder.cut_instant(work.on + timedelta(days=1),
                                                                    work.ladder.prepaid_cut_at)
        elif (work.on - debtor.oldest[1]).days > work.ladder.notice_after_days:
            ref = f"bill:{debtor.oldest[0]}"
            cut = work.ladder.cut_instant(work.on + timedelta(days=work.ladder.notice_days(debtor.category)),
                                          work.ladder.cut_at)
        else:
            continue
        if debtor.protected:
            work.step(debtor, ref, PROTECTED, amount_fen=debtor.owed_fen)
        else:
            work.step(debtor, ref, NOTICE, due_at=cut, amount_fen=debtor.owed_fen, cut_date=_shown(cut))


def _advance(work: _Run, cases: dict, debtors: dict[int, Debtor]) -> None:
    """Move each open case on: closed when paid, else call, 30-minute notice and order as time comes."""
    delivered = _deliveries(work.session, set(cases))
    everyone = _accounts(work.session, set(cases) - set(debtors))
    for account_id, steps in cases.items():
        debtor = debtors.get(account_id) or everyone[account_id]
        ref = next(iter(steps.values())).case_ref
        if account_id not in debtors:
            _close(work, debtor, ref, steps)
        elif NOTICE in steps and account_id not in work.on_plan:
            _toward_cut(work, debtor, ref, steps, delivered.get(account_id))


def _close(work: _Run, debtor: Debtor, ref: str, steps: dict) -> None:
    if ORDERED in steps:
        work.step(debtor, ref, RECONNECT, due_at=work.ladder.restore_by(work.now, debtor.category, debtor.method),
                  method=debtor.method)
    else:
        work.step(debtor, ref, CLEARED)


def _toward_cut(work: _Run, debtor: Debtor, ref: str, steps: dict, delivered_at: datetime | None) -> None:
    notice, now, ladder = steps[NOTICE], work.now, work.ladder
    if delivered_at is None or delivered_at < notice.at:
        if now >= notice.due_at - ladder.pre_cut_before and UNDELIVERED not in steps:
            work.step(debtor, ref, UNDELIVERED, amount_fen=debtor.owed_fen)  # staff: no cut without a notice
        return
    cut = max(notice.due_at, _notice_period_end(ladder, debtor, delivered_at, notice.due_at))
    if debtor.category != RESIDENTIAL and now >= cut - ladder.call_before and CALL not in steps:
        work.step(debtor, ref, CALL, amount_fen=debtor.owed_fen, cut_time=_shown(cut))
    if now >= cut - ladder.pre_cut_before and PRE_CUT not in steps:
        cut = max(cut, now + ladder.pre_cut_before)
        work.step(debtor, ref, PRE_CUT, due_at=cut, amount_fen=debtor.owed_fen, cut_time=_shown(cut))
    elif PRE_CUT in steps and ORDERED not in steps and now >= steps[PRE_CUT].due_at:
        work.step(debtor, ref, ORDERED, method=debtor.method, amount_fen=debtor.owed_fen)


def _notice_period_end(ladder: Ladder, debtor: Debtor, delivered_at: datetime, planned: datetime) -> datetime:
    """A notice delivered late still gives its full period (prepaid: the next cut morning)."""
    day = beijing_date(delivered_at)
    if debtor.regime == PREPAID:
        return ladder.cut_instant(day + timedelta(days=1), ladder.prepaid_cut_at)
    return ladder.cut_instant(day + timedelta(days=ladder.notice_days(debtor.category)), to_beijing(planned).time())


def _deliveries(session: Session, account_ids: set[int]) -> dict[int, datetime]:
    """When each account's latest written notice was delivered."""
    rows = session.execute(select(Event.account_id, func.max(Event.created_at))
                           .where(Event.kind == NOTICE_DELIVERED, among(session, Event.account_id, account_ids))
                           .group_by(Event.account_id)).all()
    return dict(rows)
