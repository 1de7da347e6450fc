"""The demo's reconciled week (对账): the last seven Beijing days whose statements are out, each with
residents paying by WeChat Pay and Alipay, the cashiers closing their drawers at 18:30, and every
channel reconciled the next morning at 10:30 as cron does it (``reconcile all``, the same function),
its fees booked after (``payments book-fees``).

The simulators run in-process on free loopback ports with the instance's sandbox keys, sending
nothing by themselves: each payment is made at the simulator's cashier and its signed notification
is handed to ``payments.callbacks.handle`` (the path a real notification takes) when the story says.
A few days carry trouble, one of every difference class: a lost notification and an order we closed
too early (healed by query + settle), a payment for an order that is not ours and one the channel
took another amount for (held, left open), a QR code paid twice and its refund, a payment at 23:59
listed on the next day's file, one the channel left off its files (短款), a drawer over and one short.

A demo convenience: refused unless the payments are in sandbox mode outside production.  Idempotent:
a database with a statement already keeps its week.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from billing import ledger
from billing.accounts import Account
from billing.clock import BEIJING, FixedClock
from billing.db import read_session, unit_of_work
from billing.staff import StaffUser
from payments import checkout, counter, fees, refunds
from payments.callbacks import handle
from payments.orders import CLOSED, COUNTER, PREPAY, PaymentOrder, create_order, get_order, transition
from payments.reconciliation import Reconciled
from payments.reconciliation_records import Difference, Statement
from payments.refunds import Refund
from payments.sync import submit_refund
from portal.channels import build_gateways, payment_limits
from portal.config import Settings
from portal.errors import PortalError
from portal.reconcile_commands import configured, reconcile_channel
from portal.sandbox import sandboxes
from portal.wiring import Services

DAYS = 7
RECONCILE_AT, CLOSE_AT = time(10, 30), time(18, 30)  # cron's `reconcile all`; the cashiers count their drawers
PAYMENTS_A_DAY = 6  # per online channel, besides the trouble
AMOUNTS_FEN = (3000, 5000, 10000, 20000)
SCENES = {"wechat": "native", "alipay": "precreate"}  # the QR code on the bill, scanned
DRAWER_FEN = {1: 1000, 4: -500}  # day of the week -> counted minus expected: 长款 10 元, 短款 5 元
# day of the week -> (channel, trouble); never "midnight" on the last day (its next file is not out)
TROUBLE = {
    0: [("wechat", "lost"), ("alipay", "closed_early")],
    1: [("wechat", "paid_twice"), ("alipay", "midnight")],
    2: [("alipay", "other_amount"), ("wechat", "midnight")],
    3: [("wechat", "not_ours"), ("alipay", "lost")],
    4: [("alipay", "left_off"), ("wechat", "closed_early")],
    5: [("wechat", "other_amount")],
    6: [("wechat", "left_off")],
}


class DemoOnly(PortalError):
    code = "demo_only"


@dataclass
class DemoWeek:
    days: list[date] = field(default_factory=list)
    payments: int = 0  # online payments made through the simulators
    results: list[Reconciled] = field(default_factory=list)
    differences: Counter = field(default_factory=Counter)  # (class, status) -> count over the week
    kept: bool = False  # the database had its week already


def week_days(now: datetime) -> list[date]:
    """The last seven days whose statements cron has taken in by ``now`` (at 10:30 the next day)."""
    local = now.astimezone(BEIJING)
    last = local.date() - timedelta(days=1 if local.time() >= RECONCILE_AT else 2)
    return [last - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]


def reconcile_demo_week(settings: Settings, engine: Engine, *, seed: int, now: datetime,
                        then: Callable[[Services], object] | None = None) -> DemoWeek:
    """``then`` is called with the week's services (the simulators still up) after the last run."""
    if settings.production or not settings.PAYMENTS_SANDBOX:
        raise DemoOnly("the reconciled demo week needs the payment sandboxes (DIANFEI_PAYMENTS_SANDBOX) outside "
                       "production: it pays through the local simulators")
    days = week_days(now)
    with read_session(engine) as session:
        if session.execute(select(Statement.id).limit(1)).first() is not None:
            return _tally(engine, DemoWeek(days=days, kept=True))
    clock = FixedClock(_at(days[0], time(7)))
    wechat, alipay = sandboxes(settings, clock, by_hand=True)
    try:
        ports = dict(SANDBOX_WECHATPAY_PORT=wechat.serve().port, SANDBOX_ALIPAY_PORT=alipay.serve().port)
        svc = Services(settings, engine, clock, build_gateways(replace(settings, **ports), clock), payment_limits(settings))
        story = _Story(svc, {"wechat": wechat, "alipay": alipay}, random.Random(f"week:{seed}"), DemoWeek(days=days))
        for at, act in sorted(story.timeline(), key=lambda item: item[0]):
            clock.now = at
            act()
        if then is not None:
            then(svc)
    finally:
        wechat.stop()
        alipay.stop()
    return _tally(engine, story.week)


def week_line(week: DemoWeek) -> str:
    """``demo load``'s report of the week: statements, lines matched, differences by class and state."""
    if not week.days:
        return "demo 对账: no week"
    lines = sum(r.lines for r in week.results)
    matched = sum(r.matched for r in week.results)
    found = ", ".join(f"{kind} {count}" for kind, count in sorted(week.differences.items()))
    how = "kept" if week.kept else (f"{week.payments} WeChat Pay/Alipay payments through the sandboxes, "
                                    f"{len(week.results)} statements taken in, {lines} lines, {matched} matched")
    return f"demo 对账 {week.days[0]}..{week.days[-1]}: {how}; differences: {found or 'none'}"


def _tally(engine: Engine, week: DemoWeek) -> DemoWeek:
    with read_session(engine) as session:
        rows = session.execute(select(Difference.kind, Difference.status, func.count())
                               .group_by(Difference.kind, Difference.status)).all()
    week.differences = Counter({f"{kind} {status}": count for kind, status, count in rows})
    return week


def _at(day: date, clock_time: time) -> datetime:
    return datetime.combine(day, clock_time, tzinfo=BEIJING)


@dataclass
class _Story:
    svc: Services
    sandbox: dict
    rng: random.Random
    week: DemoWeek

    def timeline(self) -> list[tuple[datetime, Callable[[], None]]]:
        with read_session(self.svc.engine) as session:
            self.accounts = session.execute(select(Account).order_by(Account.account_no)).scalars().all()
            self.finance_id = session.execute(select(StaffUser.id).where(StaffUser.username == "finance1")).scalar()
        events = []
        for n, day in enumerate(self.week.days):
            for channel in ("wechat", "alipay"):
                for _ in range(PAYMENTS_A_DAY):
                    at = _at(day, time(self.rng.randrange(7, 22), self.rng.randrange(60), self.rng.randrange(60)))
                    events.append((at, self._payer(channel, "paid")))
            for k, (channel, trouble) in enumerate(TROUBLE.get(n, [])):
                at = _at(day, time(23, 59, 50)) if trouble == "midnight" else _at(day, time(14 + k, 20))
                events.append((at, self._payer(channel, trouble)))
            events.append((_at(day, CLOSE_AT), lambda n=n, day=day: self._close_drawers(day, DRAWER_FEN.get(n, 0))))
            events.append((_at(day + timedelta(days=1), RECONCILE_AT), lambda day=day: self._reconcile(day)))
        return events

    def _payer(self, channel: str, trouble: str) -> Callable[[], None]:
        account, amount = self.rng.choice(self.accounts), self.rng.choice(AMOUNTS_FEN)
        return lambda: getattr(self, f"_{trouble}")(channel, account, amount)

    # --- payments, as the story has them ---------------------------------------------------------

    def _order(self, channel: str, account: Account, amount: int) -> str:
        started = checkout.start(self.svc.engine, self.svc.gateways[channel], purpose=PREPAY, scene=SCENES[channel],
                                 lines=[(account, amount)], description="电费预存", limits=self.svc.limits,
                                 now=self.svc.clock())
        return started.order.out_trade_no

    def _pay(self, channel: str, out_trade_no: str, account: Account) -> str:
        self.week.payments += 1
        payer = f"demo-{account.account_no}"
        if channel == "wechat":
            return self.sandbox[channel].pay(out_trade_no, payer=payer, notify=False)
        return self.sandbox[channel].pay(out_trade_no, buyer=payer, notify=False)

    def _notify(self, channel: str, out_trade_no: str, txn: str) -> None:
        sandbox = self.sandbox[channel]
        delivery = sandbox.notification(txn) if channel == "wechat" else sandbox.notification(out_trade_no)
        handle(self.svc.engine, self.svc.gateways[channel], delivery.headers, delivery.body, now=self.svc.clock())

    def _paid(self, channel: str, account: Account, amount: int) -> tuple[str, str]:
        out_trade_no = self._order(channel, account, amount)
        txn = self._pay(channel, out_trade_no, account)
        self._notify(channel, out_trade_no, txn)
        return out_trade_no, txn

    def _lost(self, channel: str, account: Account, amount: int) -> None:
        """Paid, and the notification never arrives: a 长款 the morning's query heals."""
        self._pay(channel, self._order(channel, account, amount), account)

    def _closed_early(self, channel: str, account: Account, amount: int) -> None:
        """We gave the order up while the payer was paying: a status_mismatch the query heals."""
        out_trade_no = self._order(channel, account, amount)
        self._pay(channel, out_trade_no, account)
        with unit_of_work(self.svc.engine) as session:
            transition(get_order(session, out_trade_no, lock=True), CLOSED, self.svc.clock())

    def _paid_twice(self, channel: str, account: Account, amount: int) -> None:
        """One QR code paid twice: the second is credited and offered back; finance1 approves the refund."""
        account = next(a for a in self.accounts if self._balance(a) >= 0)
        out_trade_no, _ = self._paid(channel, account, amount)
        self._notify(channel, out_trade_no, self._pay(channel, out_trade_no, account))
        with unit_of_work(self.svc.engine) as session:
            refund = session.execute(select(Refund).where(Refund.state == refunds.PROPOSED)).scalar_one()
            refunds.decide(session, refund, staff_id=self.finance_id, approve=True, now=self.svc.clock())
            refund_no = refund.refund_no
        submit_refund(self.svc.engine, self.svc.gateways, refund_no, now=self.svc.clock())
        self.sandbox[channel].complete_refund(refund_no, notify=False)
        delivery = self.sandbox[channel].refund_notification(refund_no)
        handle(self.svc.engine, self.svc.gateways[channel], delivery.headers, delivery.body, now=self.svc.clock())

    def _midnight(self, channel: str, account: Account, amount: int) -> None:
        """Paid at 23:59:50; the channel lists it on the next day's file."""
        out_trade_no, txn = self._paid(channel, account, amount)
        self.sandbox[channel].clear_after_midnight(txn if channel == "wechat" else out_trade_no,
                                                   self.svc.clock() + timedelta(seconds=20))

    def _left_off(self, channel: str, account: Account, amount: int) -> None:
        """Paid and credited, and the channel's files never list it: a 短款 to chase."""
        out_trade_no, txn = self._paid(channel, account, amount)
        self.sandbox[channel].leave_off_statement(txn if channel == "wechat" else out_trade_no)

    def _other_amount(self, channel: str, account: Account, amount: int) -> None:
        """The channel took 0.50 元 more than our order: held as an incident, an amount_mismatch."""
        with unit_of_work(self.svc.engine) as session:
            order = create_order(session, channel=channel, scene=SCENES[channel], purpose=PREPAY,
                                 lines=[(account, amount)], description="电费预存", now=self.svc.clock(),
                                 ttl=self.svc.limits.ttl)
        self._foreign(channel, order.out_trade_no, amount + 50, account)

    def _not_ours(self, channel: str, account: Account, amount: int) -> None:
        """A payment for an order we never made (an old system's QR code): held, a 长款 left open."""
        self._foreign(channel, f"OLD{self.svc.clock():%Y%m%d%H%M%S}{self.rng.randrange(10**6):06d}", amount, account)

    def _foreign(self, channel: str, out_trade_no: str, amount: int, account: Account) -> None:
        self.sandbox[channel].register_order(out_trade_no, amount, self.svc.gateways[channel].config.notify_url)
        self._notify(channel, out_trade_no, self._pay(channel, out_trade_no, account))

    def _balance(self, account: Account) -> int:
        with read_session(self.svc.engine) as session:
            return ledger.balance_fen(session, ledger.customer_code(account.account_no))

    # --- the counter and the morning run ---------------------------------------------------------

    def _close_drawers(self, day: date, over_fen: int) -> None:
        start, end = _at(day, time.min), _at(day + timedelta(days=1), time.min)
        with unit_of_work(self.svc.engine) as session:
            cashiers = session.execute(select(PaymentOrder.cashier_id).distinct().where(
                PaymentOrder.channel == COUNTER, PaymentOrder.paid_at >= start, PaymentOrder.paid_at < end)).scalars()
            for cashier_id in sorted(cashiers):
                _, cash_fen = counter.day_takings(session, cashier_id, day).get(counter.CASH, (0, 0))
                counter.close_day(session, cashier_id=cashier_id, counted_fen=max(0, cash_fen + over_fen),
                                  now=self.svc.clock())
                over_fen = 0

    def _reconcile(self, day: date) -> None:
        """Cron's morning: ``reconcile all`` for the day, then ``payments book-fees`` for each channel."""
        self.week.results += [reconcile_channel(self.svc, channel, day) for channel in configured(self.svc)]
        for channel, gateway in self.svc.gateways.items():
            lines = gateway.statement(day)
            if lines:
                with unit_of_work(self.svc.engine) as session:
                    fees.book_statement_fees(session, channel, day, lines, now=self.svc.clock())

