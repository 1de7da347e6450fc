"""The demo's reconciled week: a small county whose last seven days were paid through the sandboxes
and reconciled as cron does it; every channel-day has its statement, every difference class shows,
the matched lines are the settled payments, and running it all again changes nothing.  Outside the
sandbox mode (and so in production) the week is refused and nothing is written."""

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from billing.accounts import Account
from billing.clock import BEIJING, FixedClock
from billing.db import read_session, unit_of_work
from billing.ledger import Transfer
from billing.staff import StaffUser
from demo.bills import Payment
from demo.county import load_demo_county
from payments.fees import FeeDay
from payments.orders import CREDITED, ChannelPayment
from payments.reconciliation_records import CLASSES, Difference, Statement, StatementEntry
from payments.refunds import SUCCEEDED, Refund
from portal.config import load_settings
from portal.demo_payments import pay_at_counter
from portal.demo_reconciliation import DemoOnly, reconcile_demo_week, week_days, week_line
from portal.reconcile_commands import configured, reconcile_channel
from tests.conftest import START, module_engine, per_database_groups
from tests.web.test_cli import production

ACCOUNTS = 20
ONLINE = ("wechat", "alipay")


@pytest.fixture(scope="module", params=per_database_groups("demo_week"))
def demo(request, tmp_path_factory):
    """A small county with a counter receipt each day of the week, then its reconciled week (once per
    database), and cron's run of every day done again before the simulators stop: (engine, settings,
    the week, the rerun's results, the table counts before and after the rerun)."""
    with module_engine(request, tmp_path_factory, "demo_week") as engine:
        yield _week(engine, tmp_path_factory)


def _week(engine, tmp_path_factory):
    now = FixedClock(START)()
    load_demo_county(engine, accounts=ACCOUNTS, now=now)
    _counter_receipts(engine, week_days(now))
    settings = load_settings({}, {"INSTANCE_PATH": str(tmp_path_factory.mktemp("instance"))})
    rerun = {}

    def again(svc) -> None:
        rerun["before"] = _counts(engine)
        rerun["results"] = [reconcile_channel(svc, channel, day) for day in week_days(now) for channel in configured(svc)]
        rerun["after"] = _counts(engine)

    return engine, settings, reconcile_demo_week(settings, engine, seed=2026, now=now, then=again), rerun


def _counter_receipts(engine, days) -> None:
    with read_session(engine) as db:
        cashier = db.execute(select(StaffUser.id).where(StaffUser.username == "cashier1")).scalar_one()
        numbers = db.execute(select(Account.account_no).order_by(Account.account_no).limit(len(days))).scalars().all()
    for n, (day, number) in enumerate(zip(days, numbers)):
        with unit_of_work(engine) as db:
            at = datetime.combine(day, time(9, 15), tzinfo=BEIJING)
            pay_at_counter(db, Payment(at, number, 5000 + 100 * n, "cash", f"{n:016X}", cashier))


@pytest.fixture
def engine(demo):
    return demo[0]


def _counts(engine):
    with read_session(engine) as db:
        return tuple(db.execute(select(func.count()).select_from(table)).scalar()
                     for table in (Statement, StatementEntry, Difference, Transfer, ChannelPayment, Refund))


def test_every_channel_day_of_the_week_has_its_statement(demo):
    engine, _, week, _ = demo
    assert len(week.days) == 7 and week.days[-1] == START.date() - timedelta(days=2)  # at 10:00 yesterday is not out
    with read_session(engine) as db:
        stored = set(db.execute(select(Statement.channel, Statement.day)).all())
    assert stored == {(channel, day) for channel in (*ONLINE, "counter") for day in week.days}
    with read_session(engine) as db:
        fee_days = set(db.execute(select(FeeDay.channel, FeeDay.business_date)).all())
    assert fee_days == {(channel, day) for channel in ONLINE for day in week.days}  # and its fees booked
    assert len(week.results) == 21 and week.payments > 80


def test_every_class_of_difference_shows_some_healed_some_open(demo):
    engine, _, week, _ = demo
    with read_session(engine) as db:
        found = {(d.channel, d.kind, d.status) for d in db.execute(select(Difference)).scalars()}
    assert {kind for _, kind, _ in found} == set(CLASSES)
    assert {("wechat", "channel_only", "healed"), ("alipay", "channel_only", "healed"),  # lost notifications
            ("wechat", "channel_only", "open"),  # paid for an order that is not ours: held, not healed
            ("counter", "channel_only", "open"), ("counter", "ledger_only", "open"),  # a drawer over, one short
            ("alipay", "status_mismatch", "healed"), ("wechat", "duplicate_payment", "open"),
            ("wechat", "amount_mismatch", "open"), ("alipay", "ledger_only", "open")} <= found
    assert "channel_only healed 2" in week_line(week) and "duplicate_payment open 1" in week_line(week)


def test_the_matched_lines_are_the_settled_payments_and_a_rerun_changes_nothing(demo):
    engine, _, week, rerun = demo
    assert rerun["after"] == rerun["before"] and all(result.rerun for result in rerun["results"])
    with read_session(engine) as db:
        credited = db.execute(select(func.count()).where(ChannelPayment.outcome == CREDITED,
                                                         ChannelPayment.channel.in_(ONLINE))).scalar()
        refunded = db.execute(select(func.count()).where(Refund.state == SUCCEEDED)).scalar()
        left_off = db.execute(select(func.count()).where(Difference.kind == "ledger_only",
                                                         Difference.channel.in_(ONLINE))).scalar()
    online = [result for result in rerun["results"] if result.channel in ONLINE]
    # every credited payment's line is matched (the healed ones too), but the two the channel left off;
    # and the refund of the QR code paid twice
    assert (sum(result.matched for result in online), refunded, left_off) == (credited - left_off + refunded, 1, 2)
    assert sum(result.waiting for result in rerun["results"]) == 0  # the 23:59 payments matched the next day
    counter = [result for result in rerun["results"] if result.channel == "counter"]
    assert (sum(r.lines for r in counter), sum(r.matched for r in counter)) == (7, 5)  # a drawer over, one short


def test_loading_the_week_again_keeps_it(demo):
    engine, settings, _, _ = demo
    before = _counts(engine)
    again = reconcile_demo_week(settings, engine, seed=2026, now=START)
    assert again.kept and _counts(engine) == before


def test_the_week_is_refused_outside_the_sandbox_mode_and_in_production(engine, tmp_path):
    before = _counts(engine)
    sandboxless = load_settings({"DIANFEI_PAYMENTS_SANDBOX": "false"}, {"INSTANCE_PATH": str(tmp_path)})
    in_production = load_settings(production(tmp_path))
    assert not in_production.PAYMENTS_SANDBOX  # off by construction there, and refused if asked for
    for settings in (sandboxless, in_production):
        with pytest.raises(DemoOnly, match="sandboxes"):
            reconcile_demo_week(settings, engine, seed=2026, now=START)
    assert _counts(engine) == before
    assert not (tmp_path / "sandbox").exists()


def test_the_ledger_balances_after_the_week(engine):
    """The autouse check (debits = credits, cached balances = summed transfers) on the week's ledger."""
    with read_session(engine) as db:
        assert db.execute(select(func.count()).select_from(Transfer).where(Transfer.key.like("refund:%"))).scalar() == 1
