"""The daily channel report at the desk: finance sees each channel's day from the ledger beside its
statement, the CSV and the XLSX carry the same numbers with a total row, and a bad date is a clear 400."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from billing import ledger
from billing.db import unit_of_work
from billing.ledger import Posting
from payments import fees
from payments.reconciliation_records import Difference
from tests import factories
from tests.staff_helpers import add_team, log_in

DAY = date(2026, 11, 30)


@pytest.fixture
def finance(engine, clock, app):
    """A finance clerk's client, and a WeChat day: 100.00 + 25.50 paid, 40.00 refunded, fees booked."""
    add_team(engine)
    with unit_of_work(engine) as db:
        account = factories.account(db, at=clock(), account_no="3301000061")
        customer = ledger.customer_code(account.account_no)
        for key, debit, credit, fen, code in (("pay:wechat:T1", "clearing:wechat", customer, 10000, "payment"),
                                              ("pay:wechat:T2", "clearing:wechat", customer, 2550, "payment"),
                                              ("refund:RF1", customer, "clearing:wechat", 4000, "refund")):
            ledger.post(db, Posting(key, debit, credit, fen, code, business_date=DAY), at=clock())
        statement = {"statement_lines": 3, "statement_paid_fen": 12550, "statement_refunded_fen": 4000}
        fees.book_fees(db, "wechat", DAY, 60000 + 15300 - 24000, now=clock(), statement=statement)
        for ref, status in (("T9", "open"), ("T8", "healed")):  # one 长款 still open, one healed: 1 未结差异
            db.add(Difference(channel="wechat", day=DAY, kind="channel_only", ref=ref, amount_fen=100, evidence="{}",
                              status=status, found_at=clock()))
    client = app.test_client()
    log_in(client, "finance1")
    return client


def test_the_page_shows_the_ledger_beside_the_statement(finance):
    page = finance.get(f"/staff/channel-report?date={DAY}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    # fees 0.51300 元 booked as 0.51 (-300 millifen); net 125.50 - 40.00 - 0.51 = 84.99 on both sides
    for shown in ("渠道日报", "微信支付", "125.50", "40.00", "0.51300", "0.51", "84.99", "¥84.99", "-300 毫分",
                  "柜台现金，无对账单", "手续费尚未记账", "未结差异",
                  f'href="/staff/reconciliation?day={DAY}&amp;channel=wechat">1</a>'):
        assert shown in text, shown
    assert 'class="difference"' not in text


def test_the_csv_carries_the_same_numbers(finance):
    answer = finance.get(f"/staff/channel-report.csv?date={DAY}")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert [row[1] for row in rows[1:]] == ["微信支付", "支付宝", "柜台", "合计"]
    assert rows[1] == ["2026-11-30", "微信支付", "2", "125.50", "0.00", "1", "40.00", "0.51300", "0.51", "-300", "84.99",
                       "3", "125.50", "40.00", "84.99", "0.00", "1"]
    assert rows[2][-1] == rows[3][-1] == "0"
    # the total adds every channel's figures; a column no channel has a figure for stays blank
    assert rows[4] == ["2026-11-30", "合计", "2", "125.50", "0.00", "1", "40.00", "0.51300", "0.51", "-300", "84.99",
                       "3", "125.50", "40.00", "84.99", "0.00", "1"]


def test_the_xlsx_holds_the_csv_figures_as_exact_numbers(finance, engine, clock):
    with unit_of_work(engine) as db:  # the counter took cash that day too: the total is now a real sum
        account = factories.account(db, at=clock(), account_no="3301000062")
        ledger.post(db, Posting("counter:R1", "clearing:counter", ledger.customer_code(account.account_no), 3000,
                                "counter", business_date=DAY), at=clock())
    answer = finance.get(f"/staff/channel-report.xlsx?date={DAY}")
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(answer.get_data())).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]  # numbers come back as doubles
    assert rows[0][:4] == ["日期", "渠道", "笔数", "收款"] and [row[1] for row in rows[1:]] == ["微信支付", "支付宝", "柜台", "合计"]
    total = [cell if isinstance(cell, str) or cell is None else Decimal(str(cell)) for cell in rows[4]]
    assert rows[3][2:4] == [1, 30] and total[2:4] == [3, Decimal("155.5")]
    assert total[7] == Decimal("0.513") and sheet.cell(5, 8).number_format == "#,##0.00000"
    assert total[10] == Decimal("114.99") and total[14] == Decimal("84.99")  # only WeChat's settlement is known


@pytest.mark.parametrize("asked", ["2026-13-01", "yesterday", "0001-01-01", "9" * 400])
def test_a_bad_date_is_named(finance, asked):
    answer = finance.get(f"/staff/channel-report?date={asked}")
    assert answer.status_code == 400 and "日期格式应为 2026-11-30" in answer.get_data(as_text=True)


def test_only_finance_opens_it(app, engine, finance):
    cashier = app.test_client()
    log_in(cashier, "cashier1")
    assert cashier.get("/staff/channel-report").status_code == 403
    assert finance.get("/staff/channel-report").status_code == 200  # yesterday, by default
