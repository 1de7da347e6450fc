"""The demo's 催费 walk: a small billed county whose last three weeks of the dunning ladder ran as cron
does it, against the head-end simulator.  The delivery log holds reminders, written and 30-minute
notices, all delivered; one account was cut remotely, paid at the counter and restored; a protected
account is held for staff; one account keeps a payment plan agreed by a demo staff user.  Walking
again takes no step twice; outside the sandbox mode (and so in production) nothing is written."""

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from billing.accounts import ACTIVE, Account
from billing.clock import FixedClock
from billing.db import read_session
from billing.dunning_records import PROTECTED, DunningStep
from billing.payment_plans import PaymentPlan
from billing.staff import StaffUser
from billing.supply_order_records import CONFIRMED, CUT, RESTORE, SupplyOrder
from demo.county import load_demo_county
from notifications.records import DELIVERED, Message
from portal.config import load_settings
from portal.demo_dunning import DAYS, dunning_line, walk_demo_dunning
from portal.demo_payments import load_demo_bills
from portal.demo_reconciliation import DemoOnly
from tests.conftest import START, module_engine, per_database_groups
from tests.web.test_cli import production

ACCOUNTS = 30


@pytest.fixture(scope="module", params=per_database_groups("demo_dunning"))
def demo(request, tmp_path_factory):
    """One billed county per database, then its walk: (engine, settings, the walk)."""
    with module_engine(request, tmp_path_factory, "demo_dunning") as engine:
        now = FixedClock(START)()
        county = load_demo_county(engine, accounts=ACCOUNTS, now=now)
        load_demo_bills(engine, seed=2026, now=now, first_read=county.first_read)
        settings = load_settings({}, {"INSTANCE_PATH": str(tmp_path_factory.mktemp("instance"))})
        yield engine, settings, walk_demo_dunning(settings, engine, now=now)


@pytest.fixture
def engine(demo):  # the walked county's (the shared PostgreSQL database holds one county at a time)
    return demo[0]


def _delivered(engine, account_id: int | None = None) -> Counter:
    query = select(Message.kind, func.count()).where(Message.status == DELIVERED).group_by(Message.kind)
    if account_id is not None:
        query = query.where(Message.account_id == account_id)
    with read_session(engine) as db:
        return Counter(dict(db.execute(query).all()))


def _counts(engine) -> tuple[int, ...]:
    with read_session(engine) as db:
        return tuple(db.execute(select(func.count()).select_from(table)).scalar()
                     for table in (DunningStep, Message, SupplyOrder, PaymentPlan))


def test_the_delivery_log_holds_reminders_and_notices_all_delivered(demo):
    engine, _, walk = demo
    assert len(walk.days) == DAYS and walk.days[-1] == START.date() - timedelta(days=1)  # the day after the week
    delivered = _delivered(engine)
    assert delivered["overdue"] > 0 and delivered["disconnection_notice"] > 0 and delivered["pre_cut_notice"] > 0
    with read_session(engine) as db:
        kinds = set(db.execute(select(Message.kind).where(Message.status != DELIVERED)).scalars())
    assert not kinds & {"overdue", "due_soon", "disconnection_notice", "pre_cut_notice", "disconnected", "reconnected"}
    assert "bill_issued" not in delivered  # the year before the walk is history, never sent


def test_one_account_was_cut_remotely_paid_and_restored(demo):
    engine, _, walk = demo
    assert walk.cut >= 1 and len(walk.restored) == 1
    with read_session(engine) as db:
        account = db.execute(select(Account).where(Account.account_no == walk.restored[0])).scalar_one()
        orders = {o.kind: o.state for o in db.execute(select(SupplyOrder).where(SupplyOrder.account_id == account.id))
                  .scalars()}
    assert orders == {CUT: CONFIRMED, RESTORE: CONFIRMED} and account.status == ACTIVE
    assert {"disconnected": 1, "reconnected": 1, "payment_received": 1}.items() <= _delivered(engine, account.id).items()
    assert "1 paid and restored" in dunning_line(walk)


def test_a_protected_account_is_held_and_one_keeps_a_payment_plan(demo):
    engine, _, walk = demo
    with read_session(engine) as db:
        held = db.execute(select(Account.protected).join(DunningStep, DunningStep.account_id == Account.id)
                          .where(DunningStep.step == PROTECTED)).scalars().all()
        plan = db.execute(select(PaymentPlan.state, StaffUser.username)
                          .join(StaffUser, StaffUser.id == PaymentPlan.agreed_by)).one()
    assert held == [True] and walk.held == 1
    assert tuple(plan) == ("active", "finance1") and len(walk.plans) == 1


def test_walking_again_takes_no_step_twice(demo):
    engine, settings, _ = demo
    before = _counts(engine)
    again = walk_demo_dunning(settings, engine, now=START)
    assert again.kept and _counts(engine) == before


def test_the_walk_is_refused_outside_the_sandbox_mode_and_in_production(engine, tmp_path):
    before = _counts(engine)
    sandboxless = load_settings({"DIANFEI_PAYMENTS_SANDBOX": "false"}, {"INSTANCE_PATH": str(tmp_path)})
    for settings in (sandboxless, load_settings(production(tmp_path))):
        with pytest.raises(DemoOnly, match="sandboxes"):
            walk_demo_dunning(settings, engine, now=START)
    assert _counts(engine) == before

