"""The counter as a cashier uses it: rows are checked like the portal's payments and every problem
names its row; the confirm page shows each holder and balance before any money moves; the drawer,
once closed, says so and takes nothing more."""

import re

import pytest
from sqlmodel import select

from billing import ledger
from billing.db import read_session, unit_of_work
from billing.ledger import Posting
from payments.counter import CashClose
from payments.orders import PaymentOrder
from tests import factories
from tests.conftest import csrf_token
from tests.payment_helpers import balance
from tests.staff_helpers import add_team, confirm_form, counter_rows, log_in, take_at_counter

FULL_WIDTH = re.compile("[，：；（）！？。、【】“”]")


@pytest.fixture
def accounts(engine, clock):
    """3301000061 (李小荣, owes 88.00), 3301000062..65 (balance 0)."""
    with unit_of_work(engine) as db:
        made = [factories.account(db, at=clock(), account_no=f"33010000{n}", holder_name=name)
                for n, name in ((61, "李小荣"), (62, "王芳"), (63, "欧阳小荣"), (64, "赵强"), (65, "孙丽"))]
        ledger.post(db, Posting("opening:61", ledger.customer_code("3301000061"), "equity:opening", 8800, "opening"),
                    at=clock())
    return made


@pytest.fixture
def cashier(engine, app, accounts):
    add_team(engine)
    client = app.test_client()
    log_in(client, "cashier1")
    return client


def _preview(client, *rows):
    token = csrf_token(client, "/staff/counter")
    return client.post("/staff/counter/preview", data={"csrf_token": token, **counter_rows(*rows)})


def _nothing_taken(engine, accounts):
    with read_session(engine) as db:
        assert db.exec(select(PaymentOrder)).all() == []
    assert [balance(engine, account) for account in accounts] == [-8800, 0, 0, 0, 0]


@pytest.mark.parametrize(("amount", "problem"), [
    ("0", "第2行：金额 0 元不在单户 1.00 至 5000.00 元之间"),
    ("-1", "第2行：金额 -1 元不在单户 1.00 至 5000.00 元之间"),
    ("9999999999999999.99", "第2行：金额 9999999999999999.99 元不在单户 1.00 至 5000.00 元之间"),
    ("5000.01", "第2行：金额 5000.01 元不在单户 1.00 至 5000.00 元之间"),
    ("12.345", "第2行：金额 12.345 格式有误，例如 100.00"),
    ("", "第2行：请填写金额"),
])
@pytest.mark.parametrize("step", ["/staff/counter/preview", "/staff/counter"])
def test_every_amount_is_checked_and_the_row_named(engine, accounts, cashier, amount, problem, step):
    """At the preview, and again when the money is taken (a confirm page posted back with other rows)."""
    confirm = confirm_form(_preview(cashier, ("3301000062", "10.00")).get_data(as_text=True))
    answer = cashier.post(step, data={**confirm, "method": "cash",
                                      **counter_rows(("3301000062", "10.00"), ("3301000063", amount))})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400 and problem in page
    assert 'value="3301000063"' in page  # the rows come back as typed, to be fixed
    _nothing_taken(engine, accounts)


def test_unknown_and_repeated_accounts_are_named_by_row(engine, accounts, cashier):
    page = _preview(cashier, ("3301000062", "10"), ("3301000099", "10"), ("3301000062", "5"), ("33010", "1"),
                    ("", "3")).get_data(as_text=True)
    for problem in ("第2行：户号 3301000099 不存在", "第3行：户号 3301000062 与第1行重复",
                    "第4行：户号 33010 格式有误，应为10位数字", "第5行：请填写户号"):
        assert problem in page
    assert "<li>第1行" not in page  # the good row is not a problem
    assert "请至少填写一行户号和金额" in _preview(cashier).get_data(as_text=True)
    _nothing_taken(engine, accounts)


def test_one_receipt_has_a_ceiling(engine, accounts, cashier):
    rows = [(account.account_no, "5000.00") for account in accounts]
    answer = _preview(cashier, *rows)
    assert answer.status_code == 400
    assert "本张收据合计 25000.00 元，超过柜台单张收据上限 20000.00 元" in answer.get_data(as_text=True)
    _nothing_taken(engine, accounts)


def test_the_confirm_page_shows_holders_and_balances_before_any_money_moves(engine, accounts, cashier):
    preview = _preview(cashier, ("3301000061", "88"), ("", ""), ("3301000063", "20.5"))
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "确认收费" in page
    assert "李*荣" in page and "欧**荣" in page and "李小荣" not in page  # masked holders
    assert "欠费 88.00" in page and "¥108.50" in page  # the arrears, the total
    _nothing_taken(engine, accounts)
    edit = cashier.post("/staff/counter/edit", data=confirm_form(page)).get_data(as_text=True)
    assert 'name="amount-3" value="20.50"' in edit  # back to the rows, row numbers kept
    receipt = cashier.post("/staff/counter", data={**confirm_form(page), "method": "card"}, follow_redirects=True)
    assert "电费收据" in receipt.get_data(as_text=True) and "银行卡" in receipt.get_data(as_text=True)
    assert [balance(engine, account) for account in accounts[:3]] == [0, 0, 2050]


def test_typing_a_number_shows_its_holder_and_balance(app, accounts, cashier):
    found = cashier.get("/staff/counter/accounts/3301000061")
    assert found.json == {"account_no": "3301000061", "holder": "李*荣", "balance_fen": -8800,
                          "text": "李*荣 · 欠费 88.00 元"}
    missing = cashier.get("/staff/counter/accounts/3301000099")
    assert missing.status_code == 404 and missing.json["error"]["message"] == "户号 3301000099 不存在"
    assert cashier.get("/staff/counter/accounts/12").status_code == 400
    finance = app.test_client()
    log_in(finance, "finance1")
    assert finance.get("/staff/counter/accounts/3301000061").status_code == 403
    page = cashier.get("/staff/counter").get_data(as_text=True)
    assert "js/counter.js" in page and "data-lookup=" in page and "<script>" not in page


def test_a_negative_count_is_refused_and_the_closed_drawer_shows_its_close(engine, clock, accounts, cashier):
    take_at_counter(cashier, ("3301000062", "100"))
    pending = _preview(cashier, ("3301000063", "10"))  # a confirm page left open over the close
    token = csrf_token(cashier, "/staff/counter/close")
    refused = cashier.post("/staff/counter/close", data={"csrf_token": token, "counted": "-5"})
    assert refused.status_code == 400 and "实点现金不能为负数" in refused.get_data(as_text=True)
    with read_session(engine) as db:
        assert db.exec(select(CashClose)).all() == []

    closed = cashier.post("/staff/counter/close", data={"csrf_token": token, "counted": "99.50"}, follow_redirects=True)
    page = closed.get_data(as_text=True)
    assert "已轧账" in page and 'name="counted"' not in page
    for fact in ("轧账时间", "2026-11-27 10:00", "应收现金", "¥100.00", "实点现金", "¥99.50", "差额", "¥-0.50"):
        assert fact in page
    assert cashier.get("/staff/counter/close").get_data(as_text=True).count("¥99.50") == 1  # and stays so

    counter_page = cashier.get("/staff/counter").get_data(as_text=True)
    assert "钱箱已关闭" in counter_page and "请由其他收费员收取" in counter_page and "counter/preview" not in counter_page
    late = cashier.post("/staff/counter", data={**confirm_form(pending.get_data(as_text=True)), "method": "cash"})
    assert late.status_code == 400 and "请由其他收费员收取，或明日再收" in late.get_data(as_text=True)
    assert balance(engine, accounts[2]) == 0


def test_english_counter_pages_use_english_punctuation(engine, accounts, cashier):
    take_at_counter(cashier, ("3301000062", "100"))
    for path in ("/staff/?lang=en", "/staff/counter", "/staff/counter/close"):
        main = cashier.get(path).get_data(as_text=True).split("<main>")[1]
        assert not FULL_WIDTH.search(main), (path, FULL_WIDTH.findall(main))
    token = csrf_token(cashier, "/staff/counter")
    closed = cashier.post("/staff/counter/close", data={"csrf_token": token, "counted": "100"}, follow_redirects=True)
    assert "Cash counted" in closed.get_data(as_text=True)
    assert not FULL_WIDTH.search(closed.get_data(as_text=True).split("<main>")[1])


def test_the_receipt_prints_without_the_menu_or_buttons(app, accounts, cashier):
    receipt = take_at_counter(cashier, ("3301000062", "100"))
    page = cashier.get(receipt.headers["Location"]).get_data(as_text=True)
    assert 'class="desk"' in page and page.count("noprint") == 2
    css = (app.static_folder + "/css/app.css")
    with open(css, encoding="utf-8") as sheet:
        printing = sheet.read().split("@media print")[1]
    assert ".bar" in printing and ".noprint" in printing and "display: none" in printing


def test_the_confirm_page_submitted_twice_takes_the_money_once(engine, clock, app, client):
    """A double click on 确认收费, or a reload of the answer: one payment, one receipt."""
    add_team(engine)
    with unit_of_work(engine) as db:
        account = factories.account(db, at=clock(), account_no="3301000051")
    log_in(client, "cashier1")
    token = csrf_token(client, "/staff/counter")
    preview = client.post("/staff/counter/preview", data={"csrf_token": token, **counter_rows(("3301000051", "80"))})
    confirmed = {**confirm_form(preview.get_data(as_text=True)), "method": "cash"}
    first, second = client.post("/staff/counter", data=confirmed), client.post("/staff/counter", data=confirmed)
    assert first.headers["Location"] == second.headers["Location"]
    assert balance(engine, account) == 8000
    with read_session(engine) as db:
        assert len(db.exec(select(PaymentOrder).where(PaymentOrder.channel == "counter")).all()) == 1
