"""The property manager's desk with many 户号: the list's filters and pages, 全选欠费户 across pages,
the consolidated receipt as a page and a PDF, the monthly statement as a page, PDF and XLSX, and
every other organisation's ids answering 404."""

import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlmodel import select

from billing import ledger
from billing.db import unit_of_work
from billing.ledger import Posting
from billing.managers import ManagerMember
from payments import checkout
from payments.orders import PaymentOrder
from tests import factories
from tests.conftest import csrf_token
from tests.payment_helpers import acknowledged, phone
from tests.web.test_home import _log_in

MEMBER = "13900000000"
NUMBERS = [f"33010001{n:02d}" for n in range(60)]


@pytest.fixture
def many(engine, clock):
    """Sixty managed 户号 (the first and the last in arrears), and another organisation with one."""
    with unit_of_work(engine) as db:
        org, accounts = factories.manager(db, at=clock(), account_nos=NUMBERS, member_phone=MEMBER)
        for number, fen in (("3301000100", 12000), ("3301000159", 3456)):
            ledger.post(db, Posting(f"opening:{number}", ledger.customer_code(number), "equity:opening", fen, "opening"),
                        at=clock())
        other, theirs = factories.manager(db, at=clock(), account_nos=["3309999999"])
    return org, accounts, other, theirs


def _text(response) -> str:
    return response.get_data(as_text=True)


def _listed(page: str) -> list[str]:
    return re.findall(r'name="pick" value="(\d{10})"', page)


def test_the_list_filters_pages_and_refuses_bad_filters(many, client):
    _log_in(client, MEMBER)
    first = _text(client.get("/manager/"))
    assert _listed(first) == NUMBERS[:50] and "共 60 户，其中欠费 2 户，合计欠费 ¥154.56" in first
    assert "第 1 / 2 页" in first and "page=2" in first
    assert _listed(_text(client.get("/manager/?page=2"))) == NUMBERS[50:]
    owing = _text(client.get("/manager/?arrears=1&sort=arrears"))
    assert _listed(owing) == ["3301000100", "3301000159"] and "全选欠费户（2 户，¥154.56）" in owing
    assert _listed(_text(client.get("/manager/?q=0142"))) == ["3301000142"]
    english = _text(client.get("/manager/?lang=en"))
    assert "In arrears only" in english and "60 accounts, 2 in arrears owing ¥154.56 in all" in english
    client.get("/manager/?lang=zh")
    for query, message in (("page=x", "页码有误"), ("district=abc", "台区筛选有误"), ("sort=balance", "排序方式有误"),
                           ("q=" + "长" * 41, "搜索内容最多 40 个字")):
        refused = client.get(f"/manager/?{query}")
        assert refused.status_code == 400 and message in _text(refused) and _listed(_text(refused)) == NUMBERS[:50], query


def test_a_label_is_set_shown_and_found(many, client):
    _log_in(client, MEMBER)
    token = csrf_token(client, "/manager/accounts/3301000105/label")
    saved = client.post("/manager/accounts/3301000105/label", data={"csrf_token": token, "label": "3栋201"})
    assert saved.status_code == 302
    found = _text(client.get("/manager/?q=3栋"))
    assert _listed(found) == ["3301000105"] and "3栋201 · " in found
    too_long = client.post("/manager/accounts/3301000105/label", data={"csrf_token": token, "label": "长" * 41})
    assert too_long.status_code == 400 and "标签最多 40 个字" in _text(too_long)
    for path in ("/manager/accounts/3309999999/label", "/manager/accounts/x/label"):
        assert client.get(path).status_code == 404
        assert client.post(path, data={"csrf_token": token, "label": "x"}).status_code == 404


def test_select_all_in_arrears_takes_every_page_and_pays_nothing_yet(engine, many, client):
    _log_in(client, MEMBER)
    preview = _text(client.post("/manager/arrears", data={"csrf_token": csrf_token(client, "/manager/")}))
    assert "核对代缴清单" in preview and "合计 2 户" in preview and "¥154.56" in preview
    assert "3301000100" in preview and "3301000159" in preview  # one from each page of the list
    nothing = _text(client.post("/manager/arrears", data={"csrf_token": csrf_token(client, "/manager/"), "q": "0142"}))
    assert "筛选范围内没有欠费的户号" in nothing
    with unit_of_work(engine) as db:
        assert db.exec(select(PaymentOrder)).all() == []


def test_a_bad_upload_names_every_bad_line_and_pays_nothing(engine, many, client):
    _log_in(client, MEMBER)
    data = "户号\t金额\n3301000100\t￥120.00\n3309999999\t5\n3301000101\tabc\n3301000100\t1\n".encode("gbk")
    page = client.post("/manager/upload", data={"csrf_token": csrf_token(client, "/manager/"),
                                                "file": (io.BytesIO(data), "代缴.csv")}, content_type="multipart/form-data")
    text = _text(page)
    assert page.status_code == 400 and "没有发起支付" in text
    assert "第3行：户号 3309999999 不属于本物业" in text and "第4行：金额 abc 格式有误" in text
    assert "第5行：户号 3301000100 与第 2 行重复" in text
    with unit_of_work(engine) as db:
        assert db.exec(select(PaymentOrder)).all() == []


def _paid_bulk(request, engine, clock, gateways, org, lines) -> PaymentOrder:
    started = checkout.start(engine, gateways["wechat"], purpose="bulk", scene="native", lines=lines,
                             description="物业代缴", limits=checkout.Limits(), now=clock(), manager_id=org.id).order
    device = phone(request, "wechat")
    assert acknowledged("wechat", device.deliver(device.notification(started.out_trade_no, device.pay(started))))
    return started


def _lines(accounts):
    return [(accounts[0], 12000), (accounts[1], 5050), (accounts[59], 3456)]


def _pdf_text(response) -> str:
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages))


def test_the_consolidated_receipt_lists_every_account_as_a_page_and_a_pdf(request, engine, clock, app, gateways,
                                                                          many, client):
    org, accounts, _, _ = many
    paid = _paid_bulk(request, engine, clock, gateways, org, _lines(accounts))
    _log_in(client, MEMBER)
    listed = _text(client.get("/manager/receipts"))
    assert paid.out_trade_no in listed and "205.06" in listed
    refused = client.get("/manager/receipts?page=-1")
    assert refused.status_code == 400 and "页码有误" in _text(refused) and paid.out_trade_no in _text(refused)
    text = _pdf_text(client.get(f"/manager/receipts/{paid.out_trade_no}.pdf"))
    assert "物业代缴电费回单" in text and paid.out_trade_no in text and "合计3户" in text and "205.06" in text
    assert all(f"{number}" in text for number in ("3301000100", "3301000101", "3301000159"))
    assert all(amount in text for amount in ("120.00", "50.50", "34.56"))


def test_the_monthly_statement_as_a_page_a_pdf_and_a_workbook(request, engine, clock, app, gateways, many, client):
    org, accounts, _, _ = many
    _paid_bulk(request, engine, clock, gateways, org, _lines(accounts))
    _log_in(client, MEMBER)
    page = _text(client.get("/manager/statement?month=2026-11"))
    assert "合计 60 户" in page and "205.06" in page and "-154.56" in page  # the opening arrears came in November
    assert 'value="2026-11"' in _text(client.get("/manager/statement"))  # this month (the clock's) by default
    text = _pdf_text(client.get("/manager/statement.pdf?month=2026-11"))
    assert "物业月度电费对账单" in text and "2026-11" in text and "合计60户" in text and "205.06" in text
    assert "Propertymanagermonthlystatement" in _pdf_text(client.get("/manager/statement.pdf?month=2026-11&lang=en"))
    client.get("/manager/?lang=zh")
    answer = client.get("/manager/statement.xlsx?month=2026-11")
    sheet = load_workbook(io.BytesIO(answer.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("户号", "户名", "地址", "期初余额") and len(rows) == 62
    total = rows[-1]
    assert total[0] == "合计 60 户" and [str(v) for v in total[3:]] == ["0", "0", "205.06", "205.06", "-154.56", "50.5"]
    for month in ("2026-13", "x", "2026-11-01"):
        refused = client.get(f"/manager/statement.xlsx?month={month}")
        assert refused.status_code == 400 and "月份格式应为 2026-11" in _text(refused)


def test_other_organisations_ids_answer_404(request, engine, clock, app, gateways, many, client):
    org, accounts, other, theirs = many
    with unit_of_work(engine) as db:
        stranger = factories.resident(db, "13900000009", at=clock())
        db.add(ManagerMember(manager_id=other.id, resident_id=stranger.id))
    theirs_paid = _paid_bulk(request, engine, clock, gateways, other, [(theirs[0], 777)])
    unpaid = checkout.start(engine, gateways["alipay"], purpose="bulk", scene="page", lines=[(accounts[0], 100)],
                            description="物业代缴", limits=checkout.Limits(), now=clock(), manager_id=org.id).order
    _log_in(client, MEMBER)
    assert client.get(f"/manager/receipts/{unpaid.out_trade_no}.pdf").status_code == 404  # ours, but nothing paid
    for path in (f"/manager/orders/{theirs_paid.out_trade_no}", f"/manager/receipts/{theirs_paid.out_trade_no}.pdf",
                 "/manager/receipts/DF20261127FFFFFFFFFFFFFFFF.pdf"):
        assert client.get(path).status_code == 404, path
    assert theirs_paid.out_trade_no not in _text(client.get("/manager/receipts"))
    assert "3309999999" not in _text(client.get("/manager/statement?month=2026-11"))
    assert _listed(_text(client.get("/manager/?q=3309999999"))) == []
