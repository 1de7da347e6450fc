"""Bills on the ledger: numbered at issue, one ``bill:<id>`` transfer, a ``bill_issued`` event;
cancelled by a reversal with a reason, audited, and rebilled once; bad drafts change nothing."""

from datetime import date

import pytest
from sqlalchemy import func, select

from billing import bills, ledger
from billing.audit import AuditEntry
from billing.bill_records import Bill, BillLine
from billing.bill_status import PAID, bill_statuses
from billing.clock import beijing_date
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput, NotFound
from billing.events import Event
from billing.ledger import LedgerAccount, Transfer
from billing.pricing import Usage, quote
from billing.staff import add_staff
from tests.bill_helpers import (
    OCTOBER, active, bill_key, cancel, draft, energy_line, issue_bill, new_account, pay,
)


@pytest.fixture
def reviewer(engine):
    with unit_of_work(engine) as db:
        return add_staff(db, username="reviewer1", name="复核员", password="pw", roles=["reviewer"]).id


def _transfer(engine, key: str) -> tuple[str, str, int, date]:
    debit, credit = LedgerAccount.__table__.alias("d"), LedgerAccount.__table__.alias("c")
    with read_session(engine) as db:
        return tuple(db.execute(select(debit.c.code, credit.c.code, Transfer.amount_fen, Transfer.business_date)
                          .join(debit, debit.c.id == Transfer.debit_id).join(credit, credit.c.id == Transfer.credit_id)
                          .where(Transfer.key == key)).one())


def _events(engine, kind: str) -> list[dict]:
    with read_session(engine) as db:
        return [event.data for event in db.exec(select(Event).where(Event.kind == kind).order_by(Event.id)).scalars()]


def _audit(engine) -> list[tuple[str, str]]:
    with read_session(engine) as db:
        return [tuple(row) for row in db.execute(select(AuditEntry.action, AuditEntry.target).order_by(AuditEntry.id))]


def test_issuing_numbers_the_bill_posts_one_transfer_and_writes_the_event(engine, clock):
    account = new_account(engine, clock)
    lines = (bills.Line("tier", "bill.line.tier1", 148_488, 2_760_000, 53_800),  # 2760 kWh at 0.538 元
             bills.Line("tier", "bill.line.tier2", 588, 10_000, 58_800),
             bills.Line("surcharge", "bill.line.surcharge", 50))
    with unit_of_work(engine) as db:
        bill = bills.create(db, bills.Draft(account.id, *OCTOBER, date(2026, 12, 15), lines), now=clock())
    second = issue_bill(engine, clock, account, 1_000)
    assert (bill.number, second.number, bill.state, bill.issue_date) == ("2026-000001", "2026-000002", "issued",
                                                                         date(2026, 11, 27))
    assert bill.total_fen == 149_126
    customer = ledger.customer_code(account.account_no)
    assert _transfer(engine, bill_key(bill)) == (customer, "revenue:energy", 149_126, date(2026, 11, 27))
    with read_session(engine) as db:
        stored = db.exec(select(BillLine).where(BillLine.bill_id == bill.id).order_by(BillLine.position)).scalars()
        assert [(line.position, line.kind, line.energy_wh, line.unit_price_millifen_per_kwh, line.amount_fen)
                for line in stored] == [(1, "tier", 2_760_000, 53_800, 148_488), (2, "tier", 10_000, 58_800, 588),
                                        (3, "surcharge", None, None, 50)]
        assert ledger.balance_fen(db, customer) == -150_126
    issued = _events(engine, bills.BILL_ISSUED)
    assert [(e["number"], e["total_fen"], e["due_date"], e["account_no"]) for e in issued] == [
        ("2026-000001", 149_126, "2026-12-15", account.account_no),
        ("2026-000002", 1_000, "2026-12-17", account.account_no)]


def test_a_held_bill_has_no_number_and_no_transfer_until_a_reviewer_issues_it(engine, clock, reviewer):
    account = new_account(engine, clock)
    held = issue_bill(engine, clock, account, 5_000, hold=True)
    assert (held.state, held.number, held.transfer_id) == ("held", None, None)
    issue_bill(engine, clock, account, 700)  # the bill run goes on: numbers are given in issue order
    clock.advance(days=3)
    with unit_of_work(engine) as db:
        issued = bills.issue(db, held.id, now=clock(), staff_id=reviewer, due_date=date(2026, 12, 31))
    assert (issued.number, issued.issue_date, issued.due_date, issued.issued_by) == (
        "2026-000002", date(2026, 11, 30), date(2026, 12, 31), reviewer)
    assert _transfer(engine, bill_key(held))[2:] == (5_000, date(2026, 11, 30))
    assert _audit(engine) == [("issue_bill", f"bill:{held.id}")]
    with pytest.raises(bills.BillNotAllowed), unit_of_work(engine) as db:
        bills.issue(db, held.id, now=clock())


def test_numbers_start_again_each_year_and_a_rolled_back_issue_leaves_no_gap(engine, clock):
    account = new_account(engine, clock)
    issue_bill(engine, clock, account, 100)
    with pytest.raises(RuntimeError), unit_of_work(engine) as db:
        bills.create(db, draft(account, 100, due=date(2026, 12, 31)), now=clock())
        raise RuntimeError("crash after numbering")
    assert issue_bill(engine, clock, account, 100).number == "2026-000002"
    clock.advance(days=40)  # 2027-01-06 in Beijing
    assert issue_bill(engine, clock, account, 100).number == "2027-000001"
    with unit_of_work(engine) as db:
        assert bills.numbers(db, 2027, 3) == ["2027-000002", "2027-000003", "2027-000004"]


def _lines(account, *lines) -> bills.Draft:
    return bills.Draft(account.id, *OCTOBER, date(2026, 12, 31), tuple(lines))


BAD_DRAFTS = [  # (case, field named, draft for an account)
    ("amount not the product", "lines[0].amount_fen",  # 2760 kWh at 0.538 元 is 1484.88 元
     lambda a: _lines(a, bills.Line("tier", "k", 149, 2_760_000, 53_800))),
    ("kWh without price", "lines[1].unit_price_millifen_per_kwh",
     lambda a: _lines(a, energy_line(5), bills.Line("tier", "k", 100, 1_000, None))),
    ("negative price", "lines[0].unit_price_millifen_per_kwh", lambda a: _lines(a, bills.Line("t", "k", 0, 0, -1))),
    ("no kind", "lines[0].kind", lambda a: _lines(a, bills.Line("", "k", 1))),
    ("float amount", "lines[0].amount_fen", lambda a: _lines(a, bills.Line("k", "k", 1.5))),
    ("no lines", "lines", lambda a: _lines(a)),
    ("period reversed", "period_end",
     lambda a: bills.Draft(a.id, date(2026, 10, 31), date(2026, 10, 1), date(2026, 12, 31), (energy_line(1),))),
    ("due before issue", "due_date", lambda a: draft(a, 100, due=date(2026, 11, 26))),
    ("unknown account", "account_id", lambda a: bills.Draft(a.id + 999, *OCTOBER, date(2026, 12, 31),
                                                            (energy_line(1),))),
]


@pytest.mark.parametrize(("field", "build"), [case[1:] for case in BAD_DRAFTS], ids=[case[0] for case in BAD_DRAFTS])
def test_a_bad_draft_is_refused_naming_the_field_and_changes_nothing(engine, clock, field, build):
    account = new_account(engine, clock)
    with pytest.raises((InvalidInput, NotFound)) as error, unit_of_work(engine) as db:
        bills.create(db, build(account), now=clock())
    assert error.value.field == field
    with read_session(engine) as db:
        assert db.execute(select(func.count()).select_from(Bill)).scalar() == 0
        assert db.execute(select(func.count()).select_from(Transfer)).scalar() == 0


def test_cancelling_reverses_the_bill_reallocates_and_is_audited(engine, clock, reviewer):
    account = new_account(engine, clock)
    wrong = issue_bill(engine, clock, account, 8_000, due_days=10)
    later = issue_bill(engine, clock, account, 3_000, due_days=20)
    payment = pay(engine, clock, account, 9_000)
    assert active(engine, account) == {(payment, bill_key(wrong), 8_000, date(2026, 11, 27)),
                                       (payment, bill_key(later), 1_000, date(2026, 11, 27))}
    clock.advance(days=2)
    cancelled = cancel(engine, clock, wrong, reviewer, reason="示数录入错误")
    assert (cancelled.state, cancelled.cancelled_by, cancelled.cancel_reason) == ("cancelled", reviewer, "示数录入错误")
    customer = ledger.customer_code(account.account_no)
    assert _transfer(engine, f"bill-cancel:{wrong.id}") == ("revenue:energy", customer, 8_000, date(2026, 11, 29))
    # the payment now pays the bill that stands, from the day it came in; the rest is credit
    assert active(engine, account) == {(payment, bill_key(later), 3_000, date(2026, 11, 27))}
    assert [e["number"] for e in _events(engine, bills.BILL_CANCELLED)] == [wrong.number]
    assert _audit(engine) == [("cancel_bill", f"bill:{wrong.id}")]
    for reason, error in (("   ", InvalidInput), ("again", bills.BillNotAllowed)):
        with pytest.raises(error), unit_of_work(engine) as db:
            bills.cancel(db, wrong.id, reason=reason, staff_id=reviewer, now=clock())


def test_a_rebill_names_the_cancelled_bill_once(engine, clock, reviewer):
    account, other = new_account(engine, clock), new_account(engine, clock)
    wrong = issue_bill(engine, clock, account, 8_000)
    with pytest.raises(bills.BillNotAllowed), unit_of_work(engine) as db:  # still issued
        bills.rebill(db, wrong.id, draft(account, 6_000, due=date(2026, 12, 31)), staff_id=reviewer, now=clock())
    cancel(engine, clock, wrong, reviewer)
    with pytest.raises(InvalidInput) as error, unit_of_work(engine) as db:
        bills.rebill(db, wrong.id, draft(other, 6_000, due=date(2026, 12, 31)), staff_id=reviewer, now=clock())
    assert error.value.field == "account_id"
    with unit_of_work(engine) as db:
        rebill = bills.rebill(db, wrong.id, draft(account, 6_000, due=date(2026, 12, 31)), staff_id=reviewer,
                              now=clock())
    assert (rebill.replaces_bill_id, rebill.state, rebill.number, rebill.created_by) == (
        wrong.id, "issued", "2026-000002", reviewer)
    with pytest.raises(bills.BillNotAllowed), unit_of_work(engine) as db:
        bills.rebill(db, wrong.id, draft(account, 6_000, due=date(2026, 12, 31)), staff_id=reviewer, now=clock())
    with read_session(engine) as db:
        assert ledger.balance_fen(db, ledger.customer_code(account.account_no)) == -6_000
    assert [action for action, _ in _audit(engine)] == ["cancel_bill", "issue_bill", "rebill"]


def test_a_negative_bill_credits_the_balance_and_a_zero_bill_posts_nothing(engine, clock, reviewer):
    account = new_account(engine, clock)
    owed = issue_bill(engine, clock, account, 2_000)
    credit_note = issue_bill(engine, clock, account, -500)
    nothing = issue_bill(engine, clock, account, 0)
    customer = ledger.customer_code(account.account_no)
    assert _transfer(engine, bill_key(credit_note)) == ("revenue:energy", customer, 500, date(2026, 11, 27))
    assert nothing.transfer_id is None and nothing.number == "2026-000003"
    assert active(engine, account) == {(bill_key(credit_note), bill_key(owed), 500, date(2026, 11, 27))}
    with read_session(engine) as db:
        states = bill_statuses(db, on=beijing_date(clock()), account_id=account.id)
    assert (states[owed.id].paid_fen, states[credit_note.id].state, states[nothing.id].state) == (500, PAID, PAID)
    cancel(engine, clock, credit_note, reviewer)
    assert active(engine, account) == set()
    with read_session(engine) as db:
        assert ledger.balance_fen(db, customer) == -2_000


def test_every_transfer_has_the_beijing_business_date(engine, clock):
    account = new_account(engine, clock)
    clock.advance(hours=14)  # 16:00 UTC on the 27th is past midnight in Beijing
    key = pay(engine, clock, account, 100)
    assert (clock().date(), _transfer(engine, key)[3]) == (date(2026, 11, 27), date(2026, 11, 28))


@pytest.mark.parametrize(("tariff", "usage", "total_fen"), [
    ("zj-commercial", Usage(wh=1_234_567), 85_621),  # its funds: surcharge:reservoir_resettlement ...
    ("zj-residential", Usage(wh=400_000, buckets={"peak": 250_000, "valley": 150_000}, before_wh=2_600_000), 19_720),
])
def test_a_quotes_lines_become_a_bill_as_they_are(engine, clock, tariff, usage, total_fen):
    account = new_account(engine, clock)
    quoted = quote(tariff, *OCTOBER, usage)
    lines = tuple(bills.Line(line.kind, f"bill.line.{line.kind}", line.amount_fen, line.wh, line.price_millifen_per_kwh)
                  for line in quoted.lines)
    with unit_of_work(engine) as db:
        bill = bills.create(db, bills.Draft(account.id, *OCTOBER, date(2026, 12, 15), lines), now=clock())
    with read_session(engine) as db:
        stored = [(line.kind, line.amount_fen) for line in bills.lines_of(db, bill.id)]
    assert (bill.total_fen, stored) == (total_fen, [(line.kind, line.amount_fen) for line in quoted.lines])
