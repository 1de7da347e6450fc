"""The monthly marketing-finance statement on a few accounts worked by hand: billed, collected by
channel, collection rate by amount and households, arrears aging with large units and property
managers first, prepaid credit held, late fees; every figure both books hold agrees between the
bills and the ledger (both databases)."""

import uuid
from datetime import date, timedelta

from billing import finance_statement
from billing.accounts import LARGE_INDUSTRY
from billing.db import read_session, unit_of_work
from billing.finance_statement import LARGE_UNITS, MANAGED, NOT_DUE, RESIDENTS, statement
from payments.settlement import credit_account
from tests import factories
from tests.bill_helpers import issue_bill, new_account
from tests.late_fee_helpers import fee_bills

NOVEMBER, DECEMBER = date(2026, 11, 1), date(2026, 12, 1)


def _pay(engine, clock, account, fen: int, channel: str) -> None:
    with unit_of_work(engine) as db:
        credit_account(db, key=f"pay:{channel}:{uuid.uuid4().hex[:12]}", source=f"clearing:{channel}",
                       account=account, amount_fen=fen, code="payment", channel=channel, out_trade_no="test",
                       now=clock())


def _county(engine, clock):
    """27 Nov: three bills (due 17 Dec) and a prepaid credit; 28 Nov two payments; 20 Dec the large unit pays late."""
    resident = new_account(engine, clock)
    factory = new_account(engine, clock, category=LARGE_INDUSTRY, holder_name="红星机械厂")
    with unit_of_work(engine) as db:
        _, (managed,) = factories.manager(db, at=clock(), account_nos=["8800000001"])
    prepaid = new_account(engine, clock)
    issue_bill(engine, clock, resident, 100_000)
    big = issue_bill(engine, clock, factory, 500_000)
    issue_bill(engine, clock, managed, 30_000)
    _pay(engine, clock, prepaid, 20_000, "counter")
    clock.advance(days=1)
    _pay(engine, clock, resident, 60_000, "wechat")
    _pay(engine, clock, managed, 30_000, "counter")
    clock.advance(days=22)  # 20 Dec: three days past due
    _pay(engine, clock, factory, 500_000, "alipay")  # posts the late fee as a fee bill of its own
    return big


def _statement(engine, month):
    with read_session(engine) as db:
        return statement(db, month)


def test_november_by_hand(engine, clock):
    _county(engine, clock)
    found = _statement(engine, NOVEMBER)
    assert (found.billed_fen, found.bills_issued, found.cancelled_fen) == (630_000, 3, 0)
    assert found.collected_fen == {"counter": 50_000, "wechat": 60_000}
    rate = found.collection
    assert (rate.billed_fen, rate.paid_fen, rate.households, rate.paid_households) == (630_000, 90_000, 3, 1)
    assert (rate.rate_bp, rate.household_rate_bp) == (1428, 3333)
    assert found.aging[LARGE_UNITS][NOT_DUE] == 500_000 and found.aging[RESIDENTS][NOT_DUE] == 40_000
    assert found.aging[MANAGED] == dict.fromkeys(found.aging[MANAGED], 0)
    assert (found.owed_fen, found.arrears_fen, found.prepaid_held_fen) == (540_000, 0, 20_000)
    assert [(d.group, d.owed_fen) for d in found.debtors] == [(LARGE_UNITS, 500_000), (RESIDENTS, 40_000)]
    assert (found.late_fee_assessed_fen, found.refunds_fen, found.suspense_fen, found.write_offs_fen,
            found.unclaimed_fen) == (0, 0, 0, 0, 0)
    assert found.agrees, found.checks
    figures = [found.billed_fen, found.prepaid_held_fen, *found.collected_fen.values(), rate.paid_fen,
               *(fen for by_label in found.aging.values() for fen in by_label.values()),
               *(fen for check in found.checks for fen in (check.from_bills_fen, check.from_ledger_fen))]
    assert {type(fen) for fen in figures} == {int}  # PostgreSQL's sums come back as Decimal unless made int


def test_december_late_fee_and_aging_agree_with_the_ledger(engine, clock):
    big = _county(engine, clock)
    (fee,) = fee_bills(engine, big)
    assert fee.total_fen == 500_000 * 2 * 3 // 1000  # large industry, 2‰ a day for 3 days
    found = _statement(engine, DECEMBER)
    assert (found.billed_fen, found.late_fee_assessed_fen, found.late_fee_collected_fen) == (0, fee.total_fen, 0)
    assert found.collected_fen == {"alipay": 500_000}
    # 31 Dec: the resident's 400 元 is 14 days past due, the factory's fee 11 days (due the day it was posted)
    assert found.aging[RESIDENTS]["0-30"] == 40_000 and found.aging[LARGE_UNITS]["0-30"] == fee.total_fen
    assert found.arrears_fen == found.owed_fen == 40_000 + fee.total_fen
    assert found.debtors[0].group == LARGE_UNITS
    assert found.agrees, found.checks
    assert [point.month for point in found.trend][-2:] == [NOVEMBER, DECEMBER]
    november = found.trend[-2]
    assert (november.paid_fen, november.rate_bp) == (90_000, 1428)  # by November's end, whatever came later


def test_a_cancelled_bill_and_a_waived_fee_agree_with_their_reversals(engine, clock):
    from billing import bills, waivers
    from billing.staff import add_staff

    big = _county(engine, clock)
    (fee,) = fee_bills(engine, big)
    with unit_of_work(engine) as db:
        asker = add_staff(db, username="c1", name="c1", password="demo12345", roles=["cashier"]).id
        decider = add_staff(db, username="f1", name="f1", password="demo12345", roles=["finance"]).id
        waiver = waivers.request(db, bill_id=big.id, amount_fen=fee.total_fen, reason="首次逾期", staff_id=asker,
                                 now=clock())
        waivers.decide(db, waiver.id, staff_id=decider, approve=True, now=clock())
    resident_bill = issue_bill(engine, clock, new_account(engine, clock), 12_345)
    with unit_of_work(engine) as db:
        bills.cancel(db, resident_bill.id, reason="抄表错误", staff_id=decider, now=clock())
    found = _statement(engine, DECEMBER)
    assert (found.late_fee_assessed_fen, found.late_fee_waived_fen) == (fee.total_fen, fee.total_fen)
    assert (found.billed_fen, found.cancelled_fen) == (12_345, 12_345)
    assert found.agrees, found.checks


def test_month_arithmetic():
    assert finance_statement.month_end(date(2028, 2, 1)) == date(2028, 2, 29)
    assert finance_statement.months_before(date(2026, 1, 1), 1) == date(2025, 12, 1)
    assert finance_statement.month_end(NOVEMBER) + timedelta(days=1) == DECEMBER


def test_a_bill_paid_then_cancelled_next_month_restates_its_month_in_both_books(engine, clock):
    from billing import bills
    from billing.staff import add_staff

    account = new_account(engine, clock)
    bill = issue_bill(engine, clock, account, 50_000)
    _pay(engine, clock, account, 50_000, "wechat")
    clock.advance(days=10)  # 7 Dec
    with unit_of_work(engine) as db:
        staff = add_staff(db, username="r1", name="r1", password="demo12345", roles=["reviewer"]).id
        bills.cancel(db, bill.id, reason="抄表错误", staff_id=staff, now=clock())
    november, december = _statement(engine, NOVEMBER), _statement(engine, DECEMBER)
    assert november.agrees, november.checks
    assert december.agrees, december.checks
    assert (november.billed_fen, december.cancelled_fen) == (50_000, 50_000)
    assert november.prepaid_held_fen == december.prepaid_held_fen == 50_000  # the payment is credit again


def test_bulk_payments_refunds_and_prepaid_charges(engine, clock):
    """A property manager's float pays a 户号 (channel bulk); a refund; a prepaid account's daily
    charges take its credit and then run it into arrears (a debit that is no bill, owed on its day)."""
    from billing import ledger
    from billing.ledger import Posting
    from tests.bill_helpers import post, refund

    with unit_of_work(engine) as db:
        manager, (managed,) = factories.manager(db, at=clock(), account_nos=["8800000002"])
    float_code = ledger.manager_code(manager.id)
    with unit_of_work(engine) as db:
        ledger.ensure_ledger_account(db, float_code, ledger.LIABILITY)
        ledger.post(db, Posting("pay:wechat:bulk-1", "clearing:wechat", float_code, 80_000, "payment"), at=clock())
        credit_account(db, key="bulk:1:8800000002", source=float_code, account=managed, amount_fen=80_000,
                       code="bulk", channel="wechat", out_trade_no="bulk-1", now=clock())
    refund(engine, clock, managed, 5_000)
    prepaid = new_account(engine, clock, regime="prepaid")
    _pay(engine, clock, prepaid, 1_000, "alipay")
    for day in range(2):
        post(engine, clock, Posting(f"daily:test:{day}", ledger.customer_code(prepaid.account_no), "revenue:energy",
                                    800, "daily"))
        clock.advance(days=1)
    found = _statement(engine, NOVEMBER)
    assert found.collected_fen == {"alipay": 1_000, "bulk": 80_000}  # the float's own top-up reached no balance
    assert (found.refunds_fen, found.prepaid_settled_fen) == (5_000, 1_600)
    assert found.prepaid_held_fen == 80_000 - 5_000
    assert found.aging[RESIDENTS]["0-30"] == 600  # 28 Nov's charge is 600 fen short, due on its own day
    assert found.agrees, found.checks


def test_write_offs_of_the_month(engine, clock):
    """What payments.write_offs posts on approval: a 短款 to expense, an unclaimed 长款 to revenue;
    a write-off of another month is not this month's."""
    from billing import ledger
    from billing.ledger import Posting

    with unit_of_work(engine) as db:
        for key, debit, credit, fen in (("write-off:1", "expense:write_off", "clearing:wechat", 700),
                                        ("write-off:2", "clearing:alipay", "revenue:unclaimed", 1_800)):
            ledger.post(db, Posting(key, debit, credit, fen, "write_off"), at=clock())
        ledger.post(db, Posting("write-off:3", "expense:write_off", "clearing:wechat", 50, "write_off"),
                    at=clock() + timedelta(days=40))
    found = _statement(engine, NOVEMBER)
    assert (found.write_offs_fen, found.unclaimed_fen) == (700, 1_800) and found.agrees


def test_debtors_list_large_units_then_managers_then_residents_whatever_they_owe(engine, clock):
    resident = new_account(engine, clock)
    shop = new_account(engine, clock, category="non_residential", holder_name="孔记超市")
    with unit_of_work(engine) as db:
        _, managed = factories.manager(db, at=clock(), account_nos=["8800000011", "8800000012"])
    for account, fen in ((resident, 900_000), (shop, 1_000), (managed[0], 20_000), (managed[1], 30_000)):
        issue_bill(engine, clock, account, fen)
    found = _statement(engine, NOVEMBER)
    assert [(d.group, d.name, d.owed_fen) for d in found.debtors] == [
        (LARGE_UNITS, f"{shop.account_no} 孔记超市", 1_000), (MANAGED, "幸福家园物业", 50_000),  # the manager's 户号 summed
        (RESIDENTS, f"{resident.account_no} 李小荣", 900_000)]
    assert found.aging[MANAGED][NOT_DUE] == 50_000 and found.agrees
