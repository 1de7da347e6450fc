"""Supply orders on a fixed clock, on both databases, against the head-end simulator over HTTP: a
post-paid and a prepaid account cut remotely and restored after payment within the deadline, a
switch that fails and is retried then escalated, a late confirmation and one that never comes, a
restore past its deadline, a manual meter's field orders confirmed by staff, a payment before the
cut went out, and a meter that goes on counting after its cut.  Reruns change nothing."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlmodel import select

from billing.accounts import ACTIVE, DISCONNECTED, MANUAL, POSTPAID, PREPAID, Account, Meter
from billing.audit import AuditEntry
from billing.clock import beijing_minute
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput
from billing.events import Event
from billing.read_rules import ReadRules, check_reads
from billing.review import open_items
from billing.staff import add_staff
from billing.supply_order_records import (
    CANCELLED, CONFIRMED, CUT, ESCALATED, FAILED, FIELD, PENDING, REMOTE, RESTORE, SENT, SupplyOrder,
)
from billing.supply_orders import Retry, confirm_by_staff, waiting_on_staff
from metering.errors import HeadEndUnavailable
from metering.head_end import HttpHeadEnd
from metering.orders import work_orders
from metering.sandbox import HeadEndSandbox
from tests import factories
from tests.bill_helpers import issue_bill, pay
from tests.dunning_helpers import bj, notify, run_ladder, sent
from tests.read_helpers import old_account, reads, steady
from tests.threads import Threads

# How each regime reaches a disconnection order: what it owes, the bill's due date, the ladder's runs.
PLANS = {
    POSTPAID: (23456, date(2026, 12, 1), (bj(2027, 1, 1, 9, 0), bj(2027, 1, 8, 8, 30), bj(2027, 1, 8, 9, 0))),
    PREPAID: (5000, None, (bj(2026, 11, 27, 12, 0), bj(2026, 11, 30, 7, 30), bj(2026, 11, 30, 8, 0))),
}


@pytest.fixture
def head_end():
    sandbox = HeadEndSandbox().serve()
    yield sandbox, HttpHeadEnd(sandbox.url, sandbox.token, timeout=5)
    sandbox.stop()


def _cut_ordered(engine, clock, regime: str = PREPAID, *, meter_kind: str | None = None,
                 count: int = 1) -> tuple[Account, int]:
    """Residents' accounts taken down the ladder to their disconnection orders; the first, and what each owes."""
    with unit_of_work(engine) as db:
        accounts = [old_account(db, regime=regime) for _ in range(count)]
        for n, account in enumerate(accounts):
            factories.resident(db, f"1391111{n:04d}", at=clock(), accounts=(account,))
            if meter_kind:
                db.get(Meter, account.meter_id).kind = meter_kind
    owed, due, runs = PLANS[regime]
    for account in accounts:
        issue_bill(engine, clock, account, owed, **({"due": due} if due else {}))
    for at in runs:
        taken = run_ladder(engine, clock, at)
        notify(engine, clock)
    assert taken == {"disconnection_ordered": count}
    return accounts[0], owed


def _pay_and_restore(engine, clock, account: Account, owed: int, *, after: timedelta = timedelta(hours=2)) -> None:
    pay(engine, clock, account, owed)
    assert run_ladder(engine, clock, clock.now + after) == {"reconnection_ordered": 1}


def _work(engine, clock, head_end, minutes: int = 0, retry: Retry = Retry()):
    clock.advance(minutes=minutes)
    return work_orders(engine, head_end, clock, retry)


def _order(engine, account: Account, kind: str) -> SupplyOrder:
    with read_session(engine) as db:
        return db.exec(select(SupplyOrder).where(SupplyOrder.account_id == account.id, SupplyOrder.kind == kind)).one()


def _status(engine, account: Account) -> str:
    with read_session(engine) as db:
        return db.get(Account, account.id).status


def _events(engine, kind: str) -> list[dict]:
    with read_session(engine) as db:
        return [event.data for event in db.exec(select(Event).where(Event.kind == kind).order_by(Event.id))]


@pytest.mark.parametrize("regime", [POSTPAID, PREPAID])
def test_a_remote_cut_and_its_restore_after_payment(engine, clock, head_end, regime):
    sandbox, client = head_end
    account, owed = _cut_ordered(engine, clock, regime)
    cut = _order(engine, account, CUT)
    assert (cut.method, cut.state, cut.attempts) == (REMOTE, PENDING, 0)
    assert _work(engine, clock, client) == {"sent": 1}
    assert sandbox.relays == {} and _status(engine, account) == ACTIVE  # accepted is not done
    assert _work(engine, clock, client, 1) == {"confirmed": 1}
    assert sandbox.relays == {cut.meter_no: "off"} and _status(engine, account) == DISCONNECTED
    assert _work(engine, clock, client, 1) == {}
    notify(engine, clock)

    _pay_and_restore(engine, clock, account, owed)
    restore = _order(engine, account, RESTORE)
    assert restore.deadline == clock.now + timedelta(minutes=15)  # remote: within minutes
    assert _work(engine, clock, client) == {"sent": 1}
    assert _work(engine, clock, client, 1) == {"confirmed": 1}
    restore = _order(engine, account, RESTORE)
    assert restore.state == CONFIRMED and restore.confirmed_at <= restore.deadline
    assert sandbox.relays == {cut.meter_no: "on"} and _status(engine, account) == ACTIVE

    notify(engine, clock)
    assert sent(engine)[-2:] == [("disconnected", "delivered"), ("reconnected", "delivered")]
    assert _events(engine, "disconnected")[0]["cut_time"] == beijing_minute(_order(engine, account, CUT).confirmed_at)
    assert _events(engine, "reconnected")[0]["restore_time"] == beijing_minute(restore.confirmed_at)
    assert run_ladder(engine, clock, clock.now + timedelta(hours=1)) == {}
    assert _work(engine, clock, client, 60) == {} and len(sandbox.switches) == 2


def test_a_switch_that_fails_is_retried_then_escalated_and_still_worked(engine, clock, head_end):
    sandbox, client = head_end
    account, _ = _cut_ordered(engine, clock)
    sandbox.failing.add(_order(engine, account, CUT).meter_no)
    # sent, failed; 2 minutes later again; then 10 minutes; the third failure is escalated
    outcomes = [_work(engine, clock, client, minutes) for minutes in (0, 1, 1, 1, 1, 9, 1, 1)]
    assert outcomes == [{"sent": 1}, {"failed": 1}, {}, {"sent": 1}, {"failed": 1}, {}, {"sent": 1}, {"failed": 1}]
    cut = _order(engine, account, CUT)
    assert (cut.state, cut.attempts, cut.error) == (ESCALATED, 3, "relay did not respond")
    (escalated,) = _events(engine, "supply_order_escalated")
    assert (escalated["order_id"], escalated["attempts"]) == (cut.id, 3)
    with read_session(engine) as db:
        assert [order.id for order in waiting_on_staff(db)] == [cut.id]  # staff see it
    sandbox.failing.clear()  # a crew reset the concentrator: the next try (30 minutes on) takes
    assert _work(engine, clock, client, 29) == {}
    assert _work(engine, clock, client, 1) == {"sent": 1}
    assert _work(engine, clock, client, 1) == {"confirmed": 1}
    assert _status(engine, account) == DISCONNECTED and len(_events(engine, "supply_order_escalated")) == 1


def test_a_late_confirmation_and_one_that_never_comes(engine, clock, head_end):
    sandbox, client = head_end
    account, owed = _cut_ordered(engine, clock)
    sandbox.late_polls = 3
    outcomes = [_work(engine, clock, client, minutes) for minutes in (0, 1, 1, 1, 1)]
    assert outcomes == [{"sent": 1}, {"pending": 1}, {"pending": 1}, {"pending": 1}, {"confirmed": 1}]
    assert _status(engine, account) == DISCONNECTED

    sandbox.late_polls = 1000  # the restore's switch is never answered
    _pay_and_restore(engine, clock, account, owed)
    retry = Retry(answer_within=timedelta(minutes=5))
    assert [_work(engine, clock, client, m, retry) for m in (0, 1, 1, 1, 1)] == [{"sent": 1}] + [{"pending": 1}] * 4
    assert _work(engine, clock, client, 1, retry) == {"pending": 1}  # asked, and given up on
    restore = _order(engine, account, RESTORE)
    assert (restore.state, restore.attempts) == (FAILED, 1) and restore.error.startswith("no answer")
    sandbox.late_polls = 0
    assert _work(engine, clock, client, 2, retry) == {"sent": 1}
    assert _work(engine, clock, client, 1, retry) == {"confirmed": 1}
    restore = _order(engine, account, RESTORE)
    assert restore.attempts == 2 and restore.confirmed_at <= restore.deadline
    assert _status(engine, account) == ACTIVE


def test_a_restore_past_its_deadline_is_escalated_and_still_worked(engine, clock, head_end):
    sandbox, client = head_end
    account, owed = _cut_ordered(engine, clock)
    _work(engine, clock, client), _work(engine, clock, client, 1)
    sandbox.outage = True
    _pay_and_restore(engine, clock, account, owed)
    patient = Retry(escalate_after=10)  # failures alone would not escalate yet: the deadline does
    assert [_work(engine, clock, client, m, patient) for m in (0, 2, 10)] == [{"refused": 1}] * 3
    assert _order(engine, account, RESTORE).error.startswith("head-end POST /v1/switches")
    assert _work(engine, clock, client, 3, patient) == {}  # 15 minutes: the deadline itself
    assert _work(engine, clock, client, 1, patient) == {"escalated": 1}
    restore = _order(engine, account, RESTORE)
    assert restore.state == ESCALATED and "deadline" in _events(engine, "supply_order_escalated")[0]["reason"]
    sandbox.outage = False
    assert _work(engine, clock, client, 26, patient) == {"sent": 1}
    assert _work(engine, clock, client, 1, patient) == {"confirmed": 1}
    assert _status(engine, account) == ACTIVE and len(_events(engine, "supply_order_escalated")) == 1


def test_a_manual_meter_gets_waiting_on_staff_that_staff_confirm(engine, clock, head_end):
    sandbox, client = head_end
    account, owed = _cut_ordered(engine, clock, meter_kind=MANUAL)
    cut = _order(engine, account, CUT)
    assert (cut.method, cut.state) == (FIELD, PENDING)
    assert _work(engine, clock, client) == {} and sandbox.switches == {}  # nothing goes to the head-end
    with unit_of_work(engine) as db:
        staff_id = add_staff(db, username="crew1", name="王师傅", password="demo1234", roles=["admin"]).id
    with read_session(engine) as db:
        assert [order.id for order in waiting_on_staff(db)] == [cut.id]
    with unit_of_work(engine) as db:
        confirm_by_staff(db, cut.id, staff_id=staff_id, now=clock(), note="crew 3: meter sealed")
    assert _status(engine, account) == DISCONNECTED and _order(engine, account, CUT).confirmed_by == staff_id
    with pytest.raises(InvalidInput), unit_of_work(engine) as db:
        confirm_by_staff(db, cut.id, staff_id=staff_id, now=clock())

    _pay_and_restore(engine, clock, account, owed)  # Monday 10:00: a resident's crew has 1 working day
    restore = _order(engine, account, RESTORE)
    assert (restore.method, restore.deadline) == (FIELD, bj(2026, 12, 1, 10, 0))
    clock.now = bj(2026, 12, 1, 10, 0)
    assert work_orders(engine, client, clock) == {}
    clock.now = bj(2026, 12, 1, 10, 1)
    assert work_orders(engine, client, clock) == {"escalated": 1}
    with unit_of_work(engine) as db:
        confirm_by_staff(db, restore.id, staff_id=staff_id, now=clock())
    assert _status(engine, account) == ACTIVE
    with read_session(engine) as db:
        audits = db.exec(select(AuditEntry).where(AuditEntry.action == "supply_order_confirmed")).all()
    assert [(a.staff_id, a.target) for a in audits] == [(staff_id, f"supply_order:{cut.id}"),
                                                        (staff_id, f"supply_order:{restore.id}")]
    notify(engine, clock)
    assert [kind for kind, _ in sent(engine)][-2:] == ["disconnected", "reconnected"]


def test_paid_before_the_cut_went_out_nothing_is_switched(engine, clock, head_end):
    sandbox, client = head_end
    account, owed = _cut_ordered(engine, clock)
    _pay_and_restore(engine, clock, account, owed, after=timedelta(minutes=0))
    assert (_order(engine, account, CUT).state, _order(engine, account, RESTORE).state) == (CANCELLED, CANCELLED)
    assert _work(engine, clock, client, 5) == {} and sandbox.switches == {}
    notify(engine, clock)
    assert not {"disconnected", "reconnected"} & {kind for kind, _ in sent(engine)}


def test_a_field_cut_called_off_leaves_its_restore_to_staff(engine, clock, head_end):
    """The crew may have cut without reporting yet: better a confirmation for nothing than a home left dark."""
    _, client = head_end
    account, owed = _cut_ordered(engine, clock, meter_kind=MANUAL)
    _pay_and_restore(engine, clock, account, owed, after=timedelta(minutes=0))
    assert (_order(engine, account, CUT).state, _order(engine, account, RESTORE).state) == (CANCELLED, PENDING)
    with read_session(engine) as db:
        assert [order.kind for order in waiting_on_staff(db)] == [RESTORE]


def test_a_failing_cut_is_never_sent_again_once_paid(engine, clock, head_end):
    sandbox, client = head_end
    account, owed = _cut_ordered(engine, clock)
    sandbox.failing.add(_order(engine, account, CUT).meter_no)
    for minutes in (0, 1, 2, 1, 10, 1):
        _work(engine, clock, client, minutes)
    assert _order(engine, account, CUT).state == ESCALATED
    sandbox.failing.clear()
    _pay_and_restore(engine, clock, account, owed, after=timedelta(minutes=0))
    assert (_order(engine, account, CUT).state, _order(engine, account, RESTORE).state) == (CANCELLED, PENDING)
    assert _work(engine, clock, client) == {"sent": 1}  # the restore only: a failed cut may hide an open relay
    assert _work(engine, clock, client, 1) == {"confirmed": 1}
    assert [s.action for s in sandbox.switches.values()] == ["off"] * 3 + ["on"]
    assert _status(engine, account) == ACTIVE and _events(engine, "reconnected") == []  # it never went off


def test_a_restore_waits_for_a_cut_still_in_flight(engine, clock, head_end):
    sandbox, client = head_end
    account, owed = _cut_ordered(engine, clock)
    sandbox.late_polls = 1
    assert _work(engine, clock, client) == {"sent": 1}
    _pay_and_restore(engine, clock, account, owed, after=timedelta(minutes=0))
    assert _order(engine, account, RESTORE).state == PENDING
    assert _work(engine, clock, client, 1) == {"pending": 1}  # the restore is not sent across the cut
    assert _work(engine, clock, client, 1) == {"confirmed": 1}
    assert _work(engine, clock, client) == {"sent": 1}
    assert _order(engine, account, RESTORE).state == SENT
    assert _work(engine, clock, client, 1) == {"pending": 1}
    assert _work(engine, clock, client, 1) == {"confirmed": 1}
    assert [s.action for s in sandbox.switches.values()] == ["off", "on"] and _status(engine, account) == ACTIVE


def test_a_meter_that_counts_after_its_cut_is_a_finding(engine, clock, head_end):
    _, client = head_end
    account, _ = _cut_ordered(engine, clock)  # ordered 2026-11-30 08:00
    _work(engine, clock, client), _work(engine, clock, client, 1)
    assert _status(engine, account) == DISCONNECTED
    clock.now = bj(2026, 12, 5, 10, 0)
    with unit_of_work(engine) as db:
        reads(db, account.meter_id, date(2026, 11, 1), steady(1_000_000, 8_000, 34), clock)  # to 12-04
    check = dict(rules=ReadRules(), first=date(2026, 12, 1), last=date(2026, 12, 4), now=clock())
    with unit_of_work(engine) as db:
        assert check_reads(db, **check) == {"used_while_cut": 1}
    with unit_of_work(engine) as db:
        assert check_reads(db, **check) == {}  # one finding per cut, however often it is checked
    with read_session(engine) as db:
        (item,) = open_items(db)
    assert (item.account_id, item.subject_on, item.details["used_wh"]) == (account.id, date(2026, 11, 30), 3 * 8_000)


def test_workers_racing_on_the_queue_switch_each_meter_once(engine, clock, head_end):
    sandbox, client = head_end
    _cut_ordered(engine, clock, count=4)
    for minutes, outcome in ((0, "sent"), (1, "confirmed")):
        clock.advance(minutes=minutes)
        totals, threads = Counter(), Threads()
        for _ in range(3):
            threads.start(lambda: totals.update(work_orders(engine, client, clock)))
        threads.join()
        assert totals == {outcome: 4}
    assert len(sandbox.switches) == 4 and len(_events(engine, "disconnected")) == 4


def test_the_head_end_client_reports_refusals_and_outages():
    sandbox = HeadEndSandbox().serve()
    try:
        stranger = HttpHeadEnd(sandbox.url, "wrong-token", timeout=5)
        answer = stranger.switch("T0000000001", "off", "so-1-1")
        assert not answer.accepted and answer.error.startswith("unauthorized")
        client = HttpHeadEnd(sandbox.url, sandbox.token, timeout=5)
        assert not client.switch("T0000000001", "sideways", "so-1-1").accepted
        first, again = (client.switch("T0000000001", "off", "so-1-1") for _ in range(2))
        assert first.ref == again.ref and len(sandbox.switches) == 1  # a repeated order_ref is one switch
        sandbox.outage = True
        with pytest.raises(HeadEndUnavailable):
            client.status(first.ref)
    finally:
        sandbox.stop()
