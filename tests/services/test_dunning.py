"""The dunning ladder on a fixed clock, on both databases: a post-paid resident from reminder to
cut and reconnection, a business with its call task and shorter notice, a prepaid account cut on
the next working morning, a protected account held for staff, a notice that never arrived, reruns
and concurrent runs that take no step twice, and a run for a future date refused."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlmodel import select

from billing import dunning, payment_plans
from billing.accounts import NON_RESIDENTIAL, PREPAID
from billing.db import read_session, unit_of_work
from billing.dunning_records import DunningStep
from billing.errors import InvalidInput
from billing.events import Event
from billing.staff import StaffUser, add_staff
from tests.bill_helpers import issue_bill, pay
from tests.dunning_helpers import bj, debtor as _debtor, notify as _notify, run_ladder as _run, sent as _sent
from tests.threads import Threads


def _steps(engine, account) -> list[str]:
    with read_session(engine) as db:
        return [s.step for s in db.exec(select(DunningStep).where(DunningStep.account_id == account.id)
                                        .order_by(DunningStep.id)).all()]


def test_a_resident_goes_from_reminder_to_cut_and_back(engine, clock):
    account = _debtor(engine, clock)
    issue_bill(engine, clock, account, 23456, due=date(2026, 12, 1))
    _notify(engine, clock)
    assert _run(engine, clock, bj(2026, 11, 28, 9, 0)) == {"bill_due_soon": 1}
    assert _run(engine, clock, bj(2026, 12, 2, 9, 0)) == {"bill_overdue": 1}
    assert _run(engine, clock, bj(2026, 12, 31, 9, 0)) == {}  # 30 days overdue: not yet
    assert _run(engine, clock, bj(2027, 1, 1, 9, 0)) == {"disconnection_notice": 1}
    _notify(engine, clock)
    assert _run(engine, clock, bj(2027, 1, 8, 8, 29)) == {}
    assert _run(engine, clock, bj(2027, 1, 8, 8, 30)) == {"pre_cut_notice": 1}
    _notify(engine, clock)
    assert _run(engine, clock, bj(2027, 1, 8, 8, 59)) == {}
    assert _run(engine, clock, bj(2027, 1, 8, 9, 0)) == {"disconnection_ordered": 1}
    assert _run(engine, clock, bj(2027, 1, 8, 9, 15)) == {}
    pay(engine, clock, account, 23456)
    assert _run(engine, clock, bj(2027, 1, 8, 11, 0)) == {"reconnection_ordered": 1}
    assert _steps(engine, account) == ["bill_due_soon", "bill_overdue", "disconnection_notice", "pre_cut_notice",
                                       "disconnection_ordered", "reconnection_ordered"]
    _notify(engine, clock)
    assert _sent(engine) == [("bill_issued", "delivered"), ("due_soon", "delivered"), ("overdue", "delivered"),
                             ("disconnection_notice", "delivered"), ("pre_cut_notice", "delivered")]
    with read_session(engine) as db:
        order, restore = db.exec(select(DunningStep).where(DunningStep.step.in_(
            ["disconnection_ordered", "reconnection_ordered"])).order_by(DunningStep.id)).all()
    assert '"method": "remote"' in order.detail and restore.due_at == bj(2027, 1, 8, 11, 15)


def test_a_business_gets_three_days_and_a_call_an_hour_before(engine, clock):
    account = _debtor(engine, clock, category=NON_RESIDENTIAL)
    issue_bill(engine, clock, account, 100000, due=date(2026, 12, 1))
    _run(engine, clock, bj(2027, 1, 4, 9, 0))  # a Monday
    _notify(engine, clock)
    assert _run(engine, clock, bj(2027, 1, 7, 7, 59)) == {}
    assert _run(engine, clock, bj(2027, 1, 7, 8, 0)) == {"call_task": 1}
    assert _run(engine, clock, bj(2027, 1, 7, 8, 30)) == {"pre_cut_notice": 1}


def test_a_prepaid_account_below_zero_is_cut_on_the_next_working_morning(engine, clock):
    account = _debtor(engine, clock, regime=PREPAID)
    issue_bill(engine, clock, account, 5000)  # charged into a balance of zero: -50.00
    assert _run(engine, clock, bj(2026, 11, 27, 12, 0)) == {"disconnection_notice": 1}  # a Friday
    _notify(engine, clock)
    with read_session(engine) as db:
        notice = db.exec(select(DunningStep).where(DunningStep.step == "disconnection_notice")).one()
    assert notice.due_at == bj(2026, 11, 30, 8, 0)  # not Saturday: Monday 08:00
    assert _run(engine, clock, bj(2026, 11, 30, 7, 30)) == {"pre_cut_notice": 1}
    assert _run(engine, clock, bj(2026, 11, 30, 8, 0)) == {"disconnection_ordered": 1}
    pay(engine, clock, account, 5000)
    assert _run(engine, clock, bj(2026, 11, 30, 8, 5)) == {"reconnection_ordered": 1}


def test_a_protected_account_is_held_for_staff_and_never_cut(engine, clock):
    account = _debtor(engine, clock, protected=True)
    issue_bill(engine, clock, account, 5000, due=date(2026, 12, 1))
    assert _run(engine, clock, bj(2027, 1, 4, 9, 0)) == {"bill_overdue": 1, "protected_hold": 1}
    _notify(engine, clock)
    for day in range(5, 20):
        assert _run(engine, clock, bj(2027, 1, day, 10, 0)) == {}
    with read_session(engine) as db:
        assert set(dunning.open_cases(db)[account.id]) == {"protected_hold"}
    pay(engine, clock, account, 5000)
    assert _run(engine, clock, bj(2027, 1, 20, 10, 0)) == {"arrears_cleared": 1}


def test_no_cut_without_a_delivered_notice(engine, clock):
    account = _debtor(engine, clock)
    issue_bill(engine, clock, account, 5000, due=date(2026, 12, 1))
    _run(engine, clock, bj(2027, 1, 4, 9, 0))  # the notice is never dispatched
    assert _run(engine, clock, bj(2027, 1, 11, 8, 30)) == {"notice_undelivered": 1}
    assert _run(engine, clock, bj(2027, 1, 12, 9, 0)) == {}
    assert "disconnection_ordered" not in _steps(engine, account)
    _notify(engine, clock)  # delivered late: the full notice period runs from delivery
    assert _run(engine, clock, bj(2027, 1, 19, 8, 29)) == {}
    assert _run(engine, clock, bj(2027, 1, 19, 8, 30)) == {"pre_cut_notice": 1}


def test_concurrent_runs_take_each_step_once_and_a_future_day_is_refused(engine, clock):
    accounts = [_debtor(engine, clock, f"1391111{n:04d}") for n in range(8)]
    for account in accounts:
        issue_bill(engine, clock, account, 5000, due=date(2026, 12, 1))
    at, threads, totals = bj(2027, 1, 4, 9, 0), Threads(), Counter()
    clock.now = at
    for _ in range(3):
        threads.start(lambda: totals.update(dunning.run(engine, on=at.date(), now=at)))
    threads.join()
    assert totals == {"bill_overdue": 8, "disconnection_notice": 8}
    with pytest.raises(InvalidInput) as future:
        dunning.run(engine, on=date(2027, 1, 5), now=at)
    assert future.value.field == "date"


def _plan(engine, clock, account, *promises):
    with unit_of_work(engine) as db:
        collector = db.exec(select(StaffUser)).first() or add_staff(db, username="collector1", name="催费员",
                                                                     password="demo1234", roles=["cashier"])
        return payment_plans.agree(db, account.id, [payment_plans.Promise(*p) for p in promises],
                                   staff_id=collector.id, note="客户承诺分期还款", now=clock())


def test_an_instalment_plan_holds_the_ladder_until_an_instalment_is_missed(engine, clock):
    account = _debtor(engine, clock)
    issue_bill(engine, clock, account, 30000, due=date(2026, 12, 1))
    clock.now = bj(2027, 1, 2, 10, 0)
    _plan(engine, clock, account, (date(2027, 1, 5), 10000), (date(2027, 1, 12), 20000))
    assert _run(engine, clock, bj(2027, 1, 4, 9, 0)) == {}  # 34 days overdue, but on a plan
    pay(engine, clock, account, 10000)
    assert _run(engine, clock, bj(2027, 1, 6, 9, 0)) == {}  # the first instalment came in
    resumed = _run(engine, clock, bj(2027, 1, 13, 9, 0))  # the second did not: the ladder picks up where it was
    assert resumed == {"bill_overdue": 1, "disconnection_notice": 1}
    with read_session(engine) as db:
        [plan] = db.exec(select(payment_plans.PaymentPlan)).all()
        kinds = [e.kind for e in db.exec(select(Event).where(Event.account_id == account.id).order_by(Event.id))]
    assert plan.state == "broken" and kinds[-3:] == ["plan_broken", "bill_overdue", "disconnection_notice"]


def test_a_kept_promise_ends_the_plan_and_bad_plans_are_refused(engine, clock):
    account = _debtor(engine, clock)
    issue_bill(engine, clock, account, 30000, due=date(2026, 12, 1))
    clock.now = bj(2027, 1, 2, 10, 0)
    _plan(engine, clock, account, (date(2027, 1, 5), 30000))
    for bad, field in ([(date(2027, 1, 1), 100)], "due_on"), ([(date(2027, 1, 9), 0)], "amount"), \
            ([(date(2027, 1, 9), 100), (date(2027, 1, 8), 100)], "due_on"), ([], "instalments"), \
            ([(date(2027, 1, 9), 100)], "plan"):
        with pytest.raises(InvalidInput) as refused:
            _plan(engine, clock, account, *bad)
        assert refused.value.field == field
    pay(engine, clock, account, 30000)
    assert _run(engine, clock, bj(2027, 1, 4, 9, 0)) == {}
    with read_session(engine) as db:
        assert db.exec(select(payment_plans.PaymentPlan.state)).all() == ["kept"]
