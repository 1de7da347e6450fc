"""The back office's account search, the sections of an account's story and the audit log's
filters, on both databases: a counter payment, a refund asked for, a payment plan and a message
on one account, and a second account whose traces must never show on the first."""

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from billing import account_search, account_story, audit_log, payment_plans
from billing.accounts import Customer, Meter, get_account
from billing.audit import AuditEntry
from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.dunning_records import DunningStep
from billing.errors import InvalidInput
from billing.meter_changes import Reading, change_meter, change_multiplier
from billing.staff import add_staff
from notifications.records import Message
from payments import account_payments, checkout, counter, refunds
from payments.orders import ChannelPayment
from portal.staff.story import uses_between_reads
from tests import factories
from tests.read_helpers import DAY, TODAY, old_account, reads, steady


@pytest.fixture
def desk(engine, clock):
    """Two accounts; on the first, 100 元 at the counter, 30 元 of it asked back, a plan and an SMS."""
    with unit_of_work(engine) as db:
        cashier = add_staff(db, username="cashier9", name="柜员九", password="demo1234", roles=["cashier"]).id
        first = factories.account(db, at=clock(), account_no="3301000701", holder_name="欧阳小荣")
        second = factories.account(db, at=clock(), account_no="3301000702", holder_name="王大明")
        db.get(Customer, first.customer_id).phone = "13912345678"
        for account in (first, second):
            counter.take_payment(db, receipt_no=counter.new_receipt_no(clock()), cashier_id=cashier, method="cash",
                                 rows=[(account.account_no, "100")], limits=checkout.Limits(), now=clock())
        payment = db.exec(select(ChannelPayment).order_by(ChannelPayment.id)).first()
        refunds.request(db, staff_id=cashier, payment=payment, amount_fen=3000, reason="overpayment", note="多交",
                        now=clock())
        payment_plans.agree(db, first.id, [payment_plans.Promise(beijing_date(clock()) + timedelta(days=7), 5000)],
                            staff_id=cashier, note="分两次", now=clock())
        db.add(Message(dedupe_key="test:1", account_id=first.id, kind="payment_received", channel="sms",
                       address="13912345678", lang="zh", params="{}", status="delivered", due_at=clock(),
                       created_at=clock()))
        return {"first": first.account_no, "second": second.account_no, "cashier": cashier,
                "first_meter": first.meter_id}


def _search(engine, text, **kwargs):
    with read_session(engine) as db:
        return [row.account_no for row in account_search.search(db, account_search.clean(text), **kwargs).rows]


def test_search_by_name_phone_meter_or_part_of_the_number(engine, desk):
    assert _search(engine, "欧阳") == [desk["first"]]
    assert _search(engine, "1234567") == [desk["first"]]  # part of the phone
    assert _search(engine, "33010007") == [desk["first"], desk["second"]]  # part of the 户号
    assert _search(engine, "100%") == []  # a wildcard is a character, not a wildcard
    with read_session(engine) as db:
        meter_no = db.get(Meter, desk["first_meter"]).meter_no
        assert account_search.exact_account(db, desk["first"]) == desk["first"]
        assert account_search.exact_account(db, "3301999999") is None
    assert _search(engine, meter_no.lower()) == [desk["first"]]
    paged = [_search(engine, "3301000", page=page, per_page=1) for page in (1, 2, 9)]
    assert paged == [[desk["first"]], [desk["second"]], [desk["second"]]]  # past the end: the last page


@pytest.mark.parametrize("text", ["", "   ", "12", "x" * 41, "a\x00b", None])
def test_search_refuses_what_cannot_be_searched(text):
    with pytest.raises(InvalidInput) as refused:
        account_search.clean(text)
    assert refused.value.field == "q"


def test_the_story_sections_hold_the_account_and_only_it(engine, desk):
    with read_session(engine) as db:
        account = get_account(db, desk["first"])
        lines = account_story.ledger_lines(db, account)
        paid = account_payments.payments(db, account.id)
        asked = account_payments.refunds(db, account)
        plans = account_story.plans(db, account.id)
        trail = account_story.audit_trail(db, account_story.account_targets(
            account, *account_payments.audit_targets(account)))
    assert [(line.signed_fen, line.balance_fen) for line in lines] == [(10000, 10000)]
    assert [(line.amount_fen, line.balance_after_fen, line.order.state) for line in paid] == [(10000, 10000, "paid")]
    assert [(refund.amount_fen, refund.state) for refund in asked] == [(3000, "proposed")]
    assert [(plan.note, [i.amount_fen for i in instalments]) for plan, instalments in plans] == [("分两次", [5000])]
    assert sorted(entry.action for entry, _who in trail) == ["agree_payment_plan", "counter_payment", "request_refund"]
    assert {who for _entry, who in trail} == {"柜员九"}


def test_the_audit_log_filters_by_actor_action_account_and_beijing_day(engine, clock, desk):
    today = beijing_date(clock())
    with read_session(engine) as db:
        account = get_account(db, desk["first"])
        mine = account_story.account_targets(account, *account_payments.audit_targets(account))

        def actions(**wanted):
            return sorted(entry.action for entry, _who in audit_log.entries(db, audit_log.AuditFilter(**wanted)).rows)

        assert actions() == ["agree_payment_plan", "counter_payment", "counter_payment", "request_refund"]
        assert actions(staff_id=desk["cashier"], action="counter_payment") == ["counter_payment"] * 2
        assert actions(targets=mine) == ["agree_payment_plan", "counter_payment", "request_refund"]
        assert actions(first=today, last=today) == actions()
        assert actions(first=today + timedelta(days=1)) == [] and actions(last=today - timedelta(days=1)) == []
        page = audit_log.entries(db, audit_log.AuditFilter(), page=2, per_page=3)
        assert (page.total, page.pages, page.page, len(page.rows)) == (4, 2, 2, 1)
        assert audit_log.actions(db) == ["agree_payment_plan", "counter_payment", "request_refund"]


def test_before_and_after_side_by_side():
    entry = AuditEntry(staff_id=1, action="x", target="bill:1", at=None,
                       before=json.dumps({"state": "held", "total_fen": 100}),
                       after=json.dumps({"state": "issued", "total_fen": 100, "number": "2026-1"}))
    shown = [(c.field, c.before, c.after, c.changed) for c in audit_log.changes(entry)]
    assert shown == [("state", "held", "issued", True), ("total_fen", "1.00 元", "1.00 元", False),
                     ("number", "—", "2026-1", True)]
    assert [(c.before, c.after) for c in audit_log.changes(AuditEntry(staff_id=1, action="x", target="t", at=None))] \
        == [("—", "—")]
    created = AuditEntry(staff_id=1, action="counter_payment", target="order:GT1", at=None,
                         after=json.dumps({"accounts": ["3301000001", "3301000002"], "amount_fen": 10050}))
    assert [(c.field, c.before, c.after) for c in audit_log.changes(created)] == [
        ("accounts", "—", "3301000001, 3301000002"), ("amount_fen", "—", "100.50 元")]


def test_dunning_stage_is_the_last_step_of_the_open_case(engine, clock, desk):
    with unit_of_work(engine) as db:
        account = get_account(db, desk["first"])
        for minutes, case, step in ((1, "bill:1", "disconnection_notice"), (2, "bill:1", "arrears_cleared"),
                                    (3, "bill:2", "disconnection_notice"), (4, "bill:2", "pre_cut_notice")):
            db.add(DunningStep(account_id=account.id, case_ref=case, step=step, at=clock() + timedelta(minutes=minutes)))
    with read_session(engine) as db:
        found = account_story.dunning(db, account.id)
    assert found.stage == "pre_cut_notice" and [step.step for step in found.steps][:2] == ["pre_cut_notice",
                                                                                           "disconnection_notice"]


def test_use_between_reads_counts_each_meter_at_its_own_multiplier(engine, clock):
    """换表 then a 倍率 change: the chart's use never spans two meters, and a change day's read ends
    the old installation (its multiplier up to that day, the new one after)."""
    first, change, later = TODAY - 30 * DAY, TODAY - 20 * DAY, TODAY - 10 * DAY
    with unit_of_work(engine) as db:
        staff_id = add_staff(db, username="admin9", name="管理员", password="demo1234", roles=["admin"]).id
        account = old_account(db)
        reads(db, account.meter_id, first, steady(5_000_000, 8_000, 11), clock)  # to 5,080,000 on the change day
        change_meter(db, account, on=change, old_final=Reading(5_081_000), new_meter_no="N-0009",
                     new_initial=Reading(0), multiplier=1, staff_id=staff_id, now=clock(), reason="表计烧坏")
        reads(db, account.meter_id, change + DAY, steady(1_000, 1_000, 19), clock)  # 1 kWh a day on the new one
        change_multiplier(db, account, on=later, reading=None, multiplier=30, staff_id=staff_id, now=clock(),
                          reason="更换互感器")
        account_id = account.id
    with read_session(engine) as db:
        found = account_story.valid_reads(db, account_id)
    uses = uses_between_reads(found)
    assert len({read.id for read in found}) == len(found)  # the 倍率 day's read once
    old_meter = [use.used_wh for use in uses if use.end <= change]
    assert old_meter == [8_000] * 9 + [9_000]  # the final read replaced the day's AMI freeze
    assert [use.used_wh for use in uses if change <= use.start < later] == [1_000] * 10  # from the initial 0
    assert {use.used_wh for use in uses if use.start >= later} == {30_000}  # after the 倍率 change
