"""营销财务月报 pages: finance sees the month's statement with its charts' data and the books
agreeing; the CSV and the XLSX hold the same figures (read back with openpyxl); a bad month is a
400 naming the field; marketing's reviewers read it too, readers and cashiers get 403."""

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook

from billing.accounts import LARGE_INDUSTRY
from tests.bill_helpers import issue_bill, new_account
from tests.late_fee_helpers import pay
from tests.staff_helpers import add_team, log_in


def _november(engine, clock):
    """27 Nov: a resident billed 1000 元 pays 600 元 at the counter; a factory billed 5000 元 pays nothing."""
    resident = new_account(engine, clock)
    factory = new_account(engine, clock, category=LARGE_INDUSTRY, holder_name="红星机械厂")
    issue_bill(engine, clock, resident, 100_000)
    issue_bill(engine, clock, factory, 500_000)
    pay(engine, clock, resident, 60_000)
    return factory


def _finance(app, engine):
    add_team(engine)
    client = app.test_client()
    log_in(client, "finance1")
    return client


def test_finance_sees_the_month_with_its_charts_and_the_books_agreeing(app, engine, clock):
    factory = _november(engine, clock)
    client = _finance(app, engine)
    page = client.get("/staff/finance?month=2026-11")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "¥6000.00" in html and "¥600.00" in html  # billed, collected at the counter
    assert "10.00%" in html and "0 / 2" in html  # 600 of 6000 元; neither household paid in full
    assert "账单与总账的数字一致" in html and "不一致" not in html
    assert f"{factory.account_no} 红星机械厂" in html
    assert '/static/vendor/chart.umd.min.js' in html and '/static/js/finance-charts.js' in html
    assert "<script>" not in html  # the CSP allows no inline script: the charts read data- attributes
    trend = json.loads(_attribute(html, "trend-chart"))
    assert trend["labels"][-1] == "2026-11" and len(trend["labels"]) == 12 and trend["amount"][-1] == 1000
    aging = json.loads(_attribute(html, "aging-chart"))
    assert [series["fen"][0] for series in aging["series"]] == [500_000, 0, 40_000]  # large units first
    assert client.get("/staff/finance").status_code == 200  # the current month (November at the test clock)


def _attribute(html: str, canvas_id: str) -> str:
    from html import unescape

    return unescape(re.search(rf'id="{canvas_id}"[^>]*data-chart="([^"]*)"', html).group(1))


def test_the_csv_and_the_xlsx_hold_the_statement(app, engine, clock):
    _november(engine, clock)
    client = _finance(app, engine)
    answer = client.get("/staff/finance.csv?month=2026-11")
    assert answer.status_code == 200 and 'filename="finance-2026-11.csv"' in answer.headers["Content-Disposition"]
    text = answer.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = {(section, item): value for _month, section, item, value in list(csv.reader(io.StringIO(text[1:])))[1:]}
    assert rows["发行", "本月电费发行"] == "6000.00" and rows["回收", "营业厅柜台"] == "600.00"
    assert rows["回收率", "电费回收率（金额）"] == "10.00%" and rows["回收率", "电费回收率（户数）"] == "0.00%"
    assert rows["其他", "核销（短款计入支出）"] == rows["其他", "无主长款（计入收入）"] == "0.00"
    answer = client.get("/staff/finance.xlsx?month=2026-11")
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(answer.get_data())).active
    assert sheet.title == "2026-11"
    cells = {(section, item): value for section, item, value in sheet.iter_rows(min_row=2, values_only=True)}
    assert Decimal(str(cells["发行", "本月电费发行"])) == Decimal("6000")
    assert cells["发行", "账单张数"] == 2
    assert Decimal(str(cells["欠费账龄 · 大工业及非居民", "未到期"])) == Decimal("5000")
    assert Decimal(str(cells["回收率", "电费回收率（金额）"])) == Decimal("0.1")
    assert len(cells) == len(rows)  # the same rows in both files


def test_a_bad_month_is_refused_naming_the_field(app, engine, clock):
    client = _finance(app, engine)
    for bad in ("2026-13", "abc", "2026-1-1", "0001-01", "9999-12"):
        for path in ("/staff/finance", "/staff/finance.csv", "/staff/finance.xlsx"):
            answer = client.get(path, query_string={"month": bad})
            assert answer.status_code == 400, (path, bad)
    assert date(2026, 11, 1)  # the month picker offers two years back from the current month
    html = client.get("/staff/finance").get_data(as_text=True)
    assert 'value="2026-11" selected' in html and 'value="2024-12"' in html


def test_finance_marketing_reviewers_and_admin_may_read_it_and_no_one_else(app, engine, clock):
    add_team(engine)
    for role, status in (("reader", 403), ("cashier", 403), ("reviewer", 200), ("finance", 200), ("admin", 200)):
        client = app.test_client()
        log_in(client, f"{role}1")
        for path in ("/staff/finance", "/staff/finance.csv", "/staff/finance.xlsx"):
            assert client.get(path).status_code == status, (role, path)
    assert app.test_client().get("/staff/finance.xlsx").status_code in (302, 401)
