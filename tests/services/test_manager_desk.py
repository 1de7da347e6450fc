"""A property manager's desk on both databases: the list of its 户号 (filters, sort, paging, last
payment, one query per page) and the monthly statement, whose figures agree with the ledger."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, func, select

from billing import allocation, bills, ledger, manager_accounts, manager_statement, managers
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput, NotFound
from billing.ledger import LedgerAccount, Posting, Transfer
from billing.manager_accounts import Filters
from tests import factories

NOVEMBER = date(2026, 11, 1)
OCTOBER_DAY = datetime(2026, 10, 20, 2, tzinfo=UTC)
NOVEMBER_DAY = datetime(2026, 11, 10, 2, tzinfo=UTC)
DECEMBER_DAY = datetime(2026, 12, 2, 2, tzinfo=UTC)


def _bill(db, account, fen: int, at: datetime):
    draft = bills.Draft(account.id, date(2026, 10, 1), date(2026, 10, 31), date(2026, 11, 25),
                        (bills.Line("adjustment", "bill.line.adjustment", fen),))
    return bills.create(db, draft, now=at)


def _bulk(db, org, account, fen: int, at: datetime, key: str) -> None:
    """What settling a bulk payment posts: clearing -> the manager's float -> the 户号."""
    float_code = ledger.manager_code(org.id)
    ledger.ensure_ledger_account(db, float_code, ledger.LIABILITY)
    ledger.post(db, Posting(f"pay:{key}", "clearing:wechat", float_code, fen, "payment"), at=at)
    allocation.post(db, Posting(f"bulk:{key}:{account.account_no}", float_code,
                                ledger.customer_code(account.account_no), fen, "bulk"), at=at)


@pytest.fixture
def desk(engine, clock):
    """Manager A with four 户号 in two 台区 (two in arrears, one paid by the manager in November),
    manager B with one 户号 of its own."""
    with unit_of_work(engine) as db:
        east, west = factories.district(db, "TQ-EAST"), factories.district(db, "TQ-WEST")
        org = factories.manager(db, at=clock(), account_nos=[])[0]
        accounts = [factories.account(db, at=clock(), account_no=f"33020000{n:02d}", district_=district,
                                      address=address, holder_name=name)
                    for n, district, address, name in ((1, east, "东区1栋101", "王大明"), (2, east, "东区2栋202", "李小红"),
                                                        (3, west, "西区3栋303", "张三"), (4, west, "西区4栋404", "赵四"))]
        db.add_all(factories.ManagerAccount(manager_id=org.id, account_id=a.id) for a in accounts)
        other, (theirs,) = factories.manager(db, at=clock(), account_nos=["3302000099"])
        _bill(db, accounts[0], 30000, OCTOBER_DAY)  # 300.00 owed from October
        _bill(db, accounts[2], 5000, NOVEMBER_DAY)  # 50.00 billed in November
        _bill(db, theirs, 70000, NOVEMBER_DAY)
        _bulk(db, org, accounts[0], 10000, NOVEMBER_DAY, "n1")  # pays 100.00 of the 300.00
        _bulk(db, org, accounts[1], 2000, OCTOBER_DAY, "o1")  # prepaid in October
        ledger.post(db, Posting("refund:r1", ledger.customer_code("3302000002"), "refunds:payable", 500, "refund"),
                    at=NOVEMBER_DAY)
        _bulk(db, org, accounts[3], 999, DECEMBER_DAY, "d1")  # after the month
    return org, other, accounts


def _page(engine, org, filters=Filters(), number=1, per_page=50):
    with read_session(engine) as db:
        return manager_accounts.page(db, org.id, filters, number, per_page)


def test_the_list_shows_balance_arrears_and_last_payment(engine, desk):
    org, _, accounts = desk
    listed = _page(engine, org)
    assert [row.account.account_no for row in listed.rows] == ["3302000001", "3302000002", "3302000003", "3302000004"]
    first, second, third, fourth = listed.rows
    assert (first.balance_fen, first.arrears_fen, first.last_paid_on, first.last_paid_fen) == (
        -20000, 20000, date(2026, 11, 10), 10000)
    assert (second.balance_fen, second.last_paid_fen) == (1500, 2000)
    assert (third.arrears_fen, third.last_paid_on, third.last_paid_fen) == (5000, None, None)
    assert fourth.last_paid_on == date(2026, 12, 2) and first.district_name != third.district_name
    assert (listed.count, listed.arrears_count, listed.arrears_fen) == (4, 2, 25000)


def test_filters_sort_and_paging(engine, desk):
    org, _, accounts = desk
    owing = _page(engine, org, Filters(arrears_only=True, sort="arrears"))
    assert [row.account.account_no for row in owing.rows] == ["3302000001", "3302000003"]  # the most owed first
    west = _page(engine, org, Filters(district_id=accounts[2].district_id))
    assert [row.account.account_no for row in west.rows] == ["3302000003", "3302000004"]
    for text, expected in (("西区4", ["3302000004"]), ("李小", ["3302000002"]), ("000001", ["3302000001"]),
                           ("%", []), ("_", [])):
        assert [row.account.account_no for row in _page(engine, org, Filters(search=text)).rows] == expected, text
    second = _page(engine, org, number=2, per_page=3)
    assert [row.account.account_no for row in second.rows] == ["3302000004"] and second.pages == 2
    assert second.count == 4 and _page(engine, org, number=9, per_page=3).rows == []
    with read_session(engine) as db:
        assert manager_accounts.arrears_fen(db, org.id, Filters()) == {"3302000001": 20000, "3302000003": 5000}
        assert [d.code for d in manager_accounts.districts(db, org.id)] == ["TQ-EAST", "TQ-WEST"]
    with pytest.raises(InvalidInput):
        Filters(sort="balance; drop table")
    with pytest.raises(InvalidInput):
        _page(engine, org, per_page=0)


def test_the_managers_own_labels_are_shown_and_searched(engine, desk):
    org, other, _ = desk
    with unit_of_work(engine) as db:
        managers.set_label(db, org.id, "3302000003", "  水泵房   二号 ")
    listed = _page(engine, org, Filters(search="水泵"))
    assert [(row.account.account_no, row.label) for row in listed.rows] == [("3302000003", "水泵房 二号")]
    for wrong, refused in ((("3302000003", "长" * 41), InvalidInput), (("3302000099", "别人的"), NotFound)):
        with pytest.raises(refused), unit_of_work(engine) as db:
            managers.set_label(db, org.id, *wrong)
    assert _page(engine, org, Filters(search="水泵")).rows[0].label == "水泵房 二号"


def test_a_page_of_many_is_read_in_a_constant_number_of_queries(engine, desk, clock):
    org, _, _ = desk
    with unit_of_work(engine) as db:
        more = [factories.account(db, at=clock(), account_no=f"33030{n:05d}") for n in range(60)]
        db.add_all(factories.ManagerAccount(manager_id=org.id, account_id=a.id) for a in more)
    statements = []

    def count(*args):
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        listed = _page(engine, org, per_page=50)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(listed.rows) == 50 and listed.count == 64
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2


def test_the_monthly_statement_agrees_with_the_ledger(engine, desk):
    org, other, accounts = desk
    with read_session(engine) as db:
        made = manager_statement.statement(db, org, NOVEMBER)
        figures = {account.account_no: f for account, f in made.lines}
        assert set(figures) == {a.account_no for a in accounts}  # never manager B's 户号
        assert figures["3302000001"] == manager_statement.Figures(-30000, 0, 10000, 10000, 0)
        assert figures["3302000002"] == manager_statement.Figures(2000, 0, 0, 0, -500)
        assert figures["3302000003"] == manager_statement.Figures(0, 5000, 0, 0, 0)
        assert figures["3302000004"] == manager_statement.Figures()  # December's payment is not November's
        totals = made.totals
        assert (totals.opening_fen, totals.billed_fen, totals.paid_fen, totals.other_fen, totals.closing_fen) == (
            -28000, 5000, 10000, -500, -23500)
        # The ledger read another way: each balance's transfers up to the month's end ...
        for account, line in made.lines:
            assert line.closing_fen == _balance_before(db, account.account_no, date(2026, 12, 1))
            assert line.opening_fen == _balance_before(db, account.account_no, NOVEMBER)
        # ... and the manager's float paid out in November exactly what the statement says it paid.
        float_id = db.scalar(select(LedgerAccount.id).where(LedgerAccount.code == ledger.manager_code(org.id)))
        paid_out = db.scalar(select(func.sum(Transfer.amount_fen)).where(
            Transfer.debit_id == float_id, Transfer.business_date >= NOVEMBER, Transfer.business_date < date(2026, 12, 1)))
        assert totals.by_manager_fen == paid_out == 10000


def _balance_before(db, account_no: str, day: date) -> int:
    code_id = db.scalar(select(LedgerAccount.id).where(LedgerAccount.code == ledger.customer_code(account_no)))
    credits = db.scalar(select(func.coalesce(func.sum(Transfer.amount_fen), 0)).where(
        Transfer.credit_id == code_id, Transfer.business_date < day))
    debits = db.scalar(select(func.coalesce(func.sum(Transfer.amount_fen), 0)).where(
        Transfer.debit_id == code_id, Transfer.business_date < day))
    return credits - debits


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "26-11", "", "2026-11-01", "九月", "0000-01"])
def test_a_month_that_is_not_one_is_refused(text):
    with pytest.raises(InvalidInput) as refused:
        manager_statement.month_of(text)
    assert refused.value.field == "month"
