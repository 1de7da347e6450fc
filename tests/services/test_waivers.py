"""违约金减免: asked by one staff member with a reason, decided by another; approval cancels the fee
bills, leaves one for what is not waived, re-allocates, and the ledger balances; audited."""

import json

import pytest
from sqlalchemy import select

from billing import ledger, waivers
from billing.audit import AuditEntry
from billing.bill_records import CANCELLED, ISSUED
from billing.bill_status import position
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput, NotFound, PermissionDenied
from billing.events import Event
from billing.staff import add_staff
from billing.waivers import Waiver, WaiverNotAllowed
from tests.bill_helpers import issue_bill, new_account
from tests.late_fee_helpers import balance, fee_bills, pay, post_late_fees, standing_fee


@pytest.fixture
def staff(engine):
    with unit_of_work(engine) as db:
        return [add_staff(db, username=name, name=name, password="pw", roles=["finance"]).id
                for name in ("finance1", "finance2")]


@pytest.fixture
def fined(engine, clock):
    """An account whose 1000 元 bill was paid 10 days late: 10 元 of late fee posted, unpaid."""
    account = new_account(engine, clock)
    bill = issue_bill(engine, clock, account, 100_000)
    clock.advance(days=30)
    pay(engine, clock, account, 100_000)
    assert standing_fee(engine, bill) == 1000
    return account, bill


def _request(engine, clock, bill_id, amount_fen, staff_id, reason="首次逾期，用户申请减免"):
    with unit_of_work(engine) as db:
        return waivers.request(db, bill_id=bill_id, amount_fen=amount_fen, reason=reason, staff_id=staff_id,
                               now=clock())


def _decide(engine, clock, waiver, staff_id, approve=True):
    with unit_of_work(engine) as db:
        return waivers.decide(db, waiver.id, staff_id=staff_id, approve=approve, now=clock())


def _audit(engine, target):
    with read_session(engine) as db:
        return [(row.action, row.staff_id, json.loads(row.after)["state"])
                for row in db.execute(select(AuditEntry).where(AuditEntry.target == target)
                                      .order_by(AuditEntry.id)).scalars()]


def test_the_one_who_asked_cannot_decide_and_a_second_person_approves_a_partial_waiver(engine, clock, staff, fined):
    account, bill = fined
    asker, approver = staff
    waiver = _request(engine, clock, bill.id, 600, asker)
    with pytest.raises(PermissionDenied) as refused:
        _decide(engine, clock, waiver, asker)
    assert refused.value.field == "approver"
    assert standing_fee(engine, bill) == 1000
    decided = _decide(engine, clock, waiver, approver)
    assert (decided.state, decided.decided_by) == (waivers.APPROVED, approver)
    old, new = fee_bills(engine, bill)
    assert (old.state, new.state, new.total_fen) == (CANCELLED, ISSUED, 400)
    customer = ledger.customer_code(account.account_no)
    assert balance(engine, customer) == -400 and balance(engine, "revenue:late_fee") == 400
    with read_session(engine) as db:
        assert position(db, account.id).unpaid_bills_fen == 400
    assert _audit(engine, f"waiver:{waiver.id}") == [("request_waiver", asker, "pending"),
                                                     ("approve_waiver", approver, "approved")]
    with read_session(engine) as db:
        told = db.execute(select(Event).where(Event.kind == "late_fee_waived")).scalar_one()
        posted = db.execute(select(Event).where(Event.kind == "late_fee_posted")).scalars().all()
    assert [event.data["amount_fen"] for event in posted] == [1000]  # the replacement fee bill is no new fee
    assert (told.data["bill_id"], told.data["amount_fen"]) == (bill.id, 600)
    clock.advance(days=5)
    assert post_late_fees(engine, clock, [account]) == 0  # the waived part is not posted again


def test_a_full_waiver_of_a_paid_fee_gives_the_money_back_to_the_balance(engine, clock, staff, fined):
    account, bill = fined
    pay(engine, clock, account, 1000)  # the fee paid
    _decide(engine, clock, _request(engine, clock, bill.id, 1000, staff[0]), staff[1])
    assert [fee.state for fee in fee_bills(engine, bill)] == [CANCELLED]
    assert balance(engine, ledger.customer_code(account.account_no)) == 1000
    assert balance(engine, "revenue:late_fee") == 0
    with read_session(engine) as db:
        assert position(db, account.id).unallocated_credit_fen == 1000


def test_a_refused_waiver_changes_no_money(engine, clock, staff, fined):
    account, bill = fined
    (fee,) = fee_bills(engine, bill)
    waiver = _request(engine, clock, fee.id, 1000, staff[0])  # asked on the fee bill: the fee of its bill
    assert waiver.bill_id == bill.id
    assert _decide(engine, clock, waiver, staff[1], approve=False).state == waivers.REFUSED
    assert standing_fee(engine, bill) == 1000 and len(fee_bills(engine, bill)) == 1
    with pytest.raises(WaiverNotAllowed) as again:
        _decide(engine, clock, waiver, staff[1])
    assert again.value.field == "state"


@pytest.mark.parametrize(("amount", "reason", "field"), [
    (1001, "减免", "waiver_amount"), (0, "减免", "waiver_amount"), (-5, "减免", "waiver_amount"),
    (100, "  ", "waiver_reason"), (100, "x" * 401, "waiver_reason"),
])
def test_bad_requests_name_the_field_and_write_nothing(engine, clock, staff, fined, amount, reason, field):
    _, bill = fined
    with pytest.raises(InvalidInput) as bad:
        _request(engine, clock, bill.id, amount, staff[0], reason=reason)
    assert bad.value.field == field
    with read_session(engine) as db:
        assert db.execute(select(Waiver)).all() == []


def test_a_bill_without_a_fee_or_with_a_pending_waiver_cannot_be_asked_again(engine, clock, staff, fined):
    account, bill = fined
    with pytest.raises(NotFound):
        _request(engine, clock, 999_999, 100, staff[0])
    fresh = issue_bill(engine, clock, account, 5_000)
    with pytest.raises(InvalidInput) as no_fee:
        _request(engine, clock, fresh.id, 100, staff[0])
    assert no_fee.value.field == "waiver_amount"
    _request(engine, clock, bill.id, 100, staff[0])
    with pytest.raises(WaiverNotAllowed) as pending:
        _request(engine, clock, bill.id, 100, staff[1])
    assert pending.value.field == "bill_id"
