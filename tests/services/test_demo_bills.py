"""The demo county's bills: every finished month billed for every post-paid 户号 by the real bill
run, reviewed and paid at the counter; bills in every state, a held bill left in the queue, each
balance explained by its opening balance, bills and payments; the same seed gives the same bills."""

import hashlib
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select, text

import migrations
from billing import allocation, ledger
from billing.accounts import POSTPAID, PREPAID, Account
from billing.bill_records import HELD, ISSUED, Bill
from billing.bill_run import BILL_REVIEW
from billing.bill_status import OVERDUE, PAID, PART_PAID, UNPAID, bill_statuses, position
from billing.daily_settlement_records import DailySettlement
from billing.clock import FixedClock, beijing_date
from billing.db import make_engine, read_session, unit_of_work
from billing.events import Event
from billing.late_fee_posting import NOT_A_FEE_BILL, LateFeePosting
from billing.ledger import LedgerAccount, Transfer
from billing.review import open_items
from billing.residents import Binding, Resident
from demo.county import FIRST_LOGIN, SECOND_LOGIN, load_demo_county
from portal.demo_payments import bills_line, load_demo_bills
from tests.conftest import START, module_engine, per_database_groups

ACCOUNTS = 60


@pytest.fixture(scope="module", params=per_database_groups("demo_bills"))
def demo(request, tmp_path_factory):
    """One billed county per database for the whole module (a load takes tens of seconds); the tests
    only read it."""
    with module_engine(request, tmp_path_factory, "demo_bills") as engine:
        now = FixedClock(START)()
        county = load_demo_county(engine, accounts=ACCOUNTS, now=now)
        yield engine, load_demo_bills(engine, seed=2026, now=now, first_read=county.first_read)


@pytest.fixture
def engine(demo):
    return demo[0]


@pytest.fixture
def billed(demo):
    return demo[1]


def _bills_by_month(db) -> Counter:
    rows = db.execute(select(Bill.period_start, func.count()).where(Bill.state.in_((ISSUED, HELD)), NOT_A_FEE_BILL)
                      .group_by(Bill.period_start)).all()
    return Counter({start: count for start, count in rows})


def test_every_finished_month_is_billed_for_every_postpaid_account(engine, clock, billed):
    assert billed.months == [f"{year}-{month:02d}" for year, month in
                             [(2025, 9), (2025, 10), (2025, 11), (2025, 12)] + [(2026, m) for m in range(1, 11)]]
    with read_session(engine) as db:
        postpaid = db.execute(select(func.count()).where(Account.regime == POSTPAID)).scalar()
        by_month = _bills_by_month(db)
        prepaid_bills = db.execute(select(func.count()).select_from(Bill).join(Account, Account.id == Bill.account_id)
                                   .where(Account.regime == PREPAID)).scalar()
    *earlier, last = [by_month[date(int(m[:4]), int(m[5:]), 1)] for m in billed.months]
    assert earlier == [postpaid] * 13  # the trouble is in the last month's reads
    assert last == postpaid - sum(billed.not_billed.values())
    assert prepaid_bills == 0  # prepaid 户号 are charged by the daily settlement, not billed


def test_the_bills_are_paid_on_time_late_in_part_or_not_at_all(engine, clock, billed):
    today = beijing_date(clock())
    with read_session(engine) as db:
        fee_bills = set(db.execute(select(LateFeePosting.fee_bill_id)).scalars())
        now = {bill_id: s for bill_id, s in bill_statuses(db, on=today).items() if bill_id not in fee_bills}
        paid = [s for s in now.values() if s.state == PAID]
        on_time = sum(bill_statuses(db, on=s.due_date, bill_ids=[s.bill_id])[s.bill_id].state == PAID for s in paid)
    states = Counter(s.state for s in now.values())
    assert states[PAID] and states[OVERDUE] and states[UNPAID] and states[HELD]
    assert 0 < on_time < len(paid)  # some paid by the due date, some after it
    assert any(s.state in (OVERDUE, PART_PAID) and 0 < s.paid_fen < s.total_fen for s in now.values())
    assert any(s.state == OVERDUE and s.paid_fen == 0 and s.overdue_days > 365 for s in now.values())
    assert billed.states["paid_on_time"] == on_time and billed.states["paid_late"] == len(paid) - on_time
    assert sum(billed.states.values()) == billed.issued == len(now) - states[HELD]
    assert sum(1 for fen in billed.past_due_fen.values() if fen) >= 3 and billed.past_due_fen[">365"] > 0
    assert billed.payments > 0


def test_the_last_month_leaves_bills_held_on_a_read_in_the_queue(engine, clock, billed):
    last_start = date(2026, 10, 1)
    with read_session(engine) as db:
        held = open_items(db, kind=BILL_REVIEW)
        bills = {item.id: db.get(Bill, item.details["bill_id"]) for item in held}
    assert held and len(held) == billed.held
    for item in held:
        assert bills[item.id].state == HELD and bills[item.id].period_start == last_start
        assert set(item.details["rules"]) & {"estimated_read", "open_read_finding", "negative_bill", "final_bill"}


def _customer_movements(db) -> dict[str, Counter]:
    """Per customer ledger code: fen credited and debited, by transfer code."""
    customer = LedgerAccount.__table__.alias("customer")
    t = Transfer.__table__
    moved: dict[str, Counter] = {}
    for side, column in (("in", t.c.credit_id), ("out", t.c.debit_id)):
        for code, kind, fen in db.execute(select(customer.c.code, t.c.code, func.sum(t.c.amount_fen))
                                          .join(t, column == customer.c.id)
                                          .where(customer.c.code.startswith(ledger.customer_code("")))
                                          .group_by(customer.c.code, t.c.code)):
            moved.setdefault(code, Counter())[f"{side}:{kind}"] += int(fen)
    return moved


def test_each_balance_is_its_opening_plus_payments_minus_bills(engine, clock, billed):
    with read_session(engine) as db:
        assert ledger.check_invariants(db) == []
        moved = _customer_movements(db)
        issued = dict(db.execute(select(Account.account_no, func.sum(Bill.total_fen)).join(Bill, Bill.account_id == Account.id)
                                 .where(Bill.state == ISSUED).group_by(Account.account_no)).all())
        accounts = db.execute(select(Account.id, Account.account_no).where(Account.regime == POSTPAID)).all()
        owed_by_bills = Counter()
        for status in bill_statuses(db, on=beijing_date(clock())).values():
            owed_by_bills[db.get(Bill, status.bill_id).account_id] += status.owed_fen
        for account_id, account_no in accounts:
            code = ledger.customer_code(account_no)
            m = moved.get(code, Counter())
            assert set(m) <= {"in:opening", "out:opening", "in:counter", "out:bill"}, account_no
            expected = m["in:opening"] - m["out:opening"] + m["in:counter"] - int(issued.get(account_no, 0))
            balance = ledger.balance_fen(db, code)
            assert balance == expected and m["out:bill"] == issued.get(account_no, 0), account_no
            explained = position(db, account_id)
            assert explained.balance_fen == balance and explained.unpaid_bills_fen == owed_by_bills[account_id]


def _digest(engine) -> str:
    digest = hashlib.sha256()
    with engine.connect() as connection:
        for query in (
            "SELECT a.account_no, b.period_start, b.number, b.state, b.total_fen, b.issue_date, b.due_date "
            "FROM bill b JOIN account a ON a.id = b.account_id ORDER BY b.number, a.account_no, b.period_start",
            "SELECT key, amount_fen, business_date, code FROM ledger_transfer ORDER BY key",
            "SELECT b.number, l.amount_fen, l.paid_on FROM allocation l JOIN bill b ON b.id = l.bill_id "
            "ORDER BY l.id",
        ):
            for row in connection.execute(text(query)):
                digest.update(repr(tuple(str(v) for v in row)).encode())
    return digest.hexdigest()


def _load(tmp_path, name: str, seed: int, clock):
    engine = make_engine(f"sqlite:///{tmp_path / name}")
    migrations.upgrade(engine)
    county = load_demo_county(engine, accounts=10, seed=seed, now=clock())
    billed = load_demo_bills(engine, seed=seed, now=clock(), first_read=county.first_read)
    return engine, billed


def test_same_seed_same_bills_and_payments(tmp_path, clock):
    first, first_billed = _load(tmp_path, "first.sqlite3", 7, clock)
    second, second_billed = _load(tmp_path, "second.sqlite3", 7, clock)
    other, _ = _load(tmp_path, "other.sqlite3", 8, clock)
    assert first_billed == second_billed and bills_line(first_billed) == bills_line(second_billed)
    assert _digest(first) == _digest(second) != _digest(other)


def test_the_demo_logins_show_arrears_and_a_clean_record(engine, clock, billed):
    """README: 13800000001 has a post-paid 户号 in arrears, 13800000002 one that pays on time."""
    today = beijing_date(clock())
    with read_session(engine) as db:
        states = {}
        for phone in (FIRST_LOGIN, SECOND_LOGIN):
            (account_id,) = db.execute(select(Account.id).join(Binding, Binding.account_id == Account.id)
                                       .join(Resident, Resident.id == Binding.resident_id)
                                       .where(Resident.phone == phone, Account.regime == POSTPAID)).one()
            states[phone] = Counter(s.state for s in bill_statuses(db, on=today, account_id=account_id).values())
    assert states[FIRST_LOGIN][OVERDUE] >= 1
    assert set(states[SECOND_LOGIN]) <= {PAID, UNPAID} and states[SECOND_LOGIN][PAID] >= 12



def test_prepaid_accounts_are_settled_daily_top_up_and_their_allocation_is_current(engine, clock, billed):
    """Every prepaid 户号 charged day by day since the county's first day, topped up at the counter when
    low (a few only once below zero), with low and negative balances on record; the allocation the
    settlement wrote day by day is what a replay of each whole history gives."""
    assert billed.settled_days > 0 and billed.top_ups > 0 and billed.low > 0 and billed.negative > 0
    with unit_of_work(engine) as db:
        prepaid = db.execute(select(Account.id, Account.account_no).where(Account.regime == PREPAID)).all()
        days = dict(db.execute(select(DailySettlement.account_id, func.count()).group_by(DailySettlement.account_id)).all())
        assert sum(days.values()) == billed.settled_days
        # all but a few (a meter whose reads stop, one taken off) every day since the first
        assert sum(days.get(account_id, 0) >= 300 for account_id, _ in prepaid) >= 0.8 * len(prepaid)
        kinds = Counter(db.execute(select(Event.kind).where(Event.kind.in_(("balance_low", "balance_negative"))))
                        .scalars())
        assert kinds == Counter({"balance_low": billed.low, "balance_negative": billed.negative})
        assert [account_no for account_id, account_no in prepaid if allocation.reallocate(db, account_id, at=clock())] == []
        assert ledger.check_invariants(db) == []


def test_late_payers_are_charged_late_fees_once_per_bill_and_day(engine, clock, billed):
    """The bill runs and the payments that completed overdue bills posted 违约金 as fee bills: only on
    bills paid after their due date or still unpaid past it, never twice for one bill and day."""
    assert billed.late_fees > 0 and billed.late_fee_fen >= 100 * billed.late_fees  # at least 1 元 each
    today = beijing_date(clock())
    with read_session(engine) as db:
        postings = db.execute(select(LateFeePosting.bill_id, LateFeePosting.accrued_to)).all()
        assert len(postings) == billed.late_fees and len(set(postings)) == len(postings)
        overdue = {bill_id: bill.due_date for bill_id, bill in
                   ((bill_id, db.get(Bill, bill_id)) for bill_id in {bill_id for bill_id, _ in postings})}
        assert all(accrued_to > overdue[bill_id] and accrued_to <= today for bill_id, accrued_to in postings)
