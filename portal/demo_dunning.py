"""The demo's 催费: the last three weeks of the dunning ladder, walked as cron runs it after the bills
and the reconciled week.  Each morning at 09:00, 09:30 and 10:00 Beijing (10:15 too on the last day):
``dunning run``, ``supply work`` against the head-end simulator (in-process on a free port) and
``notify dispatch`` (the console channel into a buffer, delivered at once).  Daytime instants only:
quiet hours would hold the reminders until the next morning.

Along the way the collections desk does what staff would: the morning the first written notice goes
out, its account gets a payment plan (so the ladder waits); on the last day the first account cut
remotely pays its arrears at the counter and is restored.  A protected account in arrears (the
county's hospital or life-support home) is held for staff by the ladder itself; if none would owe
long enough, the hospital gets a back-billing bill that fell due before the walk.

The messages of what happened before the walk (a year of bills and payments) are never sent: the
notifications cursor starts at the walk, as on the day the system went live.

A demo convenience, refused unless the payments are in sandbox mode outside production.
Idempotent: a database with a dunning step already keeps its walk.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from billing import bills, dunning, ledger, payment_plans
from billing.accounts import DISCONNECTED, POSTPAID, PREPAID, Account
from billing.clock import BEIJING, FixedClock
from billing.db import read_session, unit_of_work
from billing.dunning_records import NOTICE, ORDERED, PRE_CUT, PROTECTED, DunningStep
from billing.events import Event
from billing.money import format_yuan
from billing.staff import StaffUser
from billing.supply_order_records import CONFIRMED, CUT, PENDING, REMOTE, RESTORE, SENT, SupplyOrder
from metering.head_end import HttpHeadEnd
from metering.orders import work_orders
from metering.sandbox import HeadEndSandbox
from notifications.channels.console import ConsoleChannel
from notifications.dispatch import dispatch
from notifications.intake import CURSOR, take_events
from notifications.records import DELIVERED, Cursor, Message
from payments import counter
from portal.channels import payment_limits
from portal.config import Settings
from portal.demo_reconciliation import DemoOnly, week_days

DAYS = 21
RUNS = (time(9), time(9, 30), time(10))  # cron's passes each morning, all past quiet hours
LAST_RUN = time(10, 15)  # on the last day only: the head-end is asked about the restore sent at 10:00
BACK_BILL_FEN = 1_234_500  # what the protected account owes when the county gives the ladder none
DESK_AT = time(9, 45)  # staff at the collections desk, between two passes
PLAN_INSTALMENTS = 2  # monthly, the first three weeks after agreeing: after the walk, so the plan is kept
DESK_STAFF, CASHIER = "finance1", "cashier1"


@dataclass
class DemoDunning:
    days: list[date] = field(default_factory=list)
    steps: Counter = field(default_factory=Counter)  # dunning step -> count
    delivered: Counter = field(default_factory=Counter)  # message kind -> delivered
    cut: int = 0  # accounts whose remote cut the head-end confirmed
    restored: list[str] = field(default_factory=list)  # 户号 cut, paid and restored
    held: int = 0  # protected accounts held for staff
    plans: list[str] = field(default_factory=list)  # 户号 on a payment plan
    kept: bool = False  # the database had its walk already


def walk_demo_dunning(settings: Settings, engine: Engine, *, now: datetime) -> DemoDunning:
    """Walk the ladder over the three weeks ending the day after the reconciled week (its counter
    drawers are closed; this day's is still open for the restoring payment)."""
    if settings.production or not settings.PAYMENTS_SANDBOX:
        raise DemoOnly("the demo's dunning walk needs the sandboxes (DIANFEI_PAYMENTS_SANDBOX) outside production: "
                       "it cuts and restores supply through the local head-end simulator")
    last = week_days(now)[-1] + timedelta(days=1)
    days = [last - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    with read_session(engine) as session:
        if session.execute(select(DunningStep.id).limit(1)).first() is not None:
            return _tally(engine, DemoDunning(days=days, kept=True))
    protected_in_arrears(engine, days[0], last)
    _start_cursor(engine)
    sandbox = HeadEndSandbox().serve()
    try:
        walk = _Walk(engine, settings, FixedClock(_at(days[0], RUNS[0])),
                     HttpHeadEnd(sandbox.url, sandbox.token, timeout=5))
        for day in days:
            walk.day(day, pay=day == last)
    finally:
        sandbox.stop()
    return _tally(engine, DemoDunning(days=days))


def dunning_line(walk: DemoDunning) -> str:
    """``demo load``'s report of the walk: messages delivered by kind, cuts, restores, holds, plans."""
    if walk.kept:
        return "demo 催费: kept"
    sent = ", ".join(f"{kind} {count}" for kind, count in sorted(walk.delivered.items()))
    return (f"demo 催费 {walk.days[0]}..{walk.days[-1]}: delivered {sent or 'nothing'}; {walk.cut} cut remotely, "
            f"{len(walk.restored)} paid and restored ({', '.join(walk.restored) or '-'}), "
            f"{walk.held} protected held for staff, {len(walk.plans)} on a payment plan ({', '.join(walk.plans) or '-'})")


def _at(day: date, clock_time: time) -> datetime:
    return datetime.combine(day, clock_time, tzinfo=BEIJING)


def _start_cursor(engine: Engine) -> None:
    """Start the notifications cursor at the walk: the year loaded before it is history, not news."""
    with unit_of_work(engine) as session:
        cursor = session.execute(select(Cursor).where(Cursor.name == CURSOR)).scalar() or Cursor(name=CURSOR)
        cursor.event_id = session.execute(select(func.coalesce(func.max(Event.id), 0))).scalar()
        session.add(cursor)


def protected_in_arrears(engine: Engine, first: date, last: date) -> None:
    """The ladder holds a protected account for staff only if one owes for more than 30 days during
    the walk; when none will, the first protected post-paid account (the hospital) gets a back-billing
    (补收) bill that fell due a month before the walk and stays unpaid (more than its prepayment covers)."""
    line = timedelta(days=dunning.Ladder().notice_after_days + 1)
    with unit_of_work(engine) as session:
        debtors = dunning.debtors_of(session, dunning.unpaid_bills(session, first), first).values()
        if any(d.protected and (d.regime == PREPAID or d.oldest[1] <= last - line) for d in debtors):
            return
        account = session.execute(select(Account).where(Account.protected, Account.regime == POSTPAID)
                                  .order_by(Account.category, Account.id)).scalars().first()  # non_residential first
        if account is None:
            return
        due = first - line
        end = due.replace(day=1) - timedelta(days=1)
        amount = BACK_BILL_FEN + max(0, ledger.balance_fen(session, ledger.customer_code(account.account_no)))
        draft = bills.Draft(account.id, end.replace(day=1), end, due, (bills.Line("energy", "bill.line.energy", amount),))
        bills.create(session, draft, now=_at(due - timedelta(days=20), RUNS[0]))


class _Walk:
    def __init__(self, engine: Engine, settings: Settings, clock: FixedClock, head_end: HttpHeadEnd) -> None:
        self.engine, self.clock, self.head_end = engine, clock, head_end
        self.limits = payment_limits(settings)
        self.channels = {"sms": ConsoleChannel(io.StringIO())}  # delivered at once; the demo load prints nothing
        with read_session(engine) as session:
            self.staff = {name: id_ for name, id_ in session.execute(select(StaffUser.username, StaffUser.id))}

    def day(self, day: date, *, pay: bool) -> None:
        for at in sorted((*RUNS, DESK_AT, *((LAST_RUN,) if pay else ()))):
            self.clock.now = _at(day, at)
            if at == DESK_AT:
                self._desk(pay)
            elif at == RUNS[0] or pay or self._cut_under_way():  # later passes only move cuts on: skip them
                self._cron(day)                                   # when none is, each costs a full ladder run

    def _cut_under_way(self) -> bool:
        """A 30-minute notice not yet followed by its order, or a remote order the head-end has not answered."""
        with read_session(self.engine) as session:
            ordered = select(DunningStep.account_id).where(DunningStep.step == ORDERED)
            waiting = select(DunningStep.id).where(DunningStep.step == PRE_CUT, DunningStep.account_id.notin_(ordered))
            unanswered = select(SupplyOrder.id).where(SupplyOrder.method == REMOTE,
                                                      SupplyOrder.state.in_((PENDING, SENT)))
            return session.execute(waiting.union_all(unanswered).limit(1)).first() is not None

    def _cron(self, day: date) -> None:
        dunning.run(self.engine, on=day, now=self.clock())
        work_orders(self.engine, self.head_end, self.clock)
        take_events(self.engine, clock=self.clock)
        dispatch(self.engine, self.channels, clock=self.clock)

    def _desk(self, pay: bool) -> None:
        """The collections desk: a plan for the first account noticed, the first cut paid on the last day."""
        with unit_of_work(self.engine) as session:
            if session.execute(select(payment_plans.PaymentPlan.id).limit(1)).first() is None:
                self._agree_plan(session)
            if pay:
                self._pay_first_cut(session)

    def _agree_plan(self, session) -> None:
        cut_cases = select(DunningStep.account_id).where(DunningStep.step == ORDERED)
        notice = session.execute(select(DunningStep).where(DunningStep.step == NOTICE,
                                                           DunningStep.account_id.notin_(cut_cases))
                                 .order_by(DunningStep.id)).scalars().first()
        if notice is None:
            return
        owed = _owed(session, notice.account_id)
        if owed < PLAN_INSTALMENTS:
            return
        first = self.clock().astimezone(BEIJING).date() + timedelta(days=DAYS)
        share = owed // PLAN_INSTALMENTS
        amounts = [share] * (PLAN_INSTALMENTS - 1) + [owed - share * (PLAN_INSTALMENTS - 1)]
        promises = [payment_plans.Promise(first + timedelta(days=30 * n), fen) for n, fen in enumerate(amounts)]
        payment_plans.agree(session, notice.account_id, promises, staff_id=self.staff[DESK_STAFF],
                            note=f"分期缴费, {PLAN_INSTALMENTS} 期", now=self.clock())

    def _pay_first_cut(self, session) -> None:
        """The first account whose cut was confirmed pays what it owes at the counter, in one line: an
        account owing more than the counter takes per line (a factory, in a small county) is skipped."""
        cuts = session.execute(select(Account).join(SupplyOrder, SupplyOrder.account_id == Account.id)
                               .where(SupplyOrder.kind == CUT, SupplyOrder.state == CONFIRMED,
                                      Account.status == DISCONNECTED).order_by(SupplyOrder.id)).scalars()
        payable = ((cut, owed) for cut in cuts if 0 < (owed := _owed(session, cut.id)) <= self.limits.maximum_fen)
        cut, owed = next(payable, (None, 0))
        if cut is None:
            return
        counter.take_payment(session, cashier_id=self.staff[CASHIER], method=counter.CASH,
                             rows=[(cut.account_no, format_yuan(owed))], limits=self.limits, now=self.clock(),
                             receipt_no=counter.new_receipt_no(self.clock()))


def _owed(session, account_id: int) -> int:
    account_no = session.execute(select(Account.account_no).where(Account.id == account_id)).scalar_one()
    return max(0, -ledger.balance_fen(session, ledger.customer_code(account_no)))


def _tally(engine: Engine, walk: DemoDunning) -> DemoDunning:
    with read_session(engine) as session:
        walk.steps = Counter(dict(session.execute(select(DunningStep.step, func.count()).group_by(DunningStep.step)).all()))
        walk.delivered = Counter(dict(session.execute(select(Message.kind, func.count())
                                                      .where(Message.status == DELIVERED).group_by(Message.kind)).all()))
        confirmed = select(SupplyOrder.account_id).where(SupplyOrder.state == CONFIRMED)
        walk.cut = session.execute(select(func.count(func.distinct(SupplyOrder.account_id)))
                                   .where(SupplyOrder.kind == CUT, SupplyOrder.state == CONFIRMED)).scalar()
        walk.restored = list(session.execute(
            select(Account.account_no).join(SupplyOrder, SupplyOrder.account_id == Account.id)
            .where(SupplyOrder.kind == RESTORE, SupplyOrder.state == CONFIRMED,
                   SupplyOrder.account_id.in_(confirmed)).order_by(Account.account_no)).scalars())
        walk.held = walk.steps[PROTECTED]
        walk.plans = list(session.execute(select(Account.account_no).join(
            payment_plans.PaymentPlan, payment_plans.PaymentPlan.account_id == Account.id)
            .order_by(Account.account_no)).scalars())
    return walk
