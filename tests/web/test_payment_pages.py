"""The payment pages over real HTTP: a resident pays at the sandbox cashier and comes back paid; a
property manager pays many 户号 at once; bad input is named and changes nothing."""

import html
import re

import pytest
import requests
from sqlmodel import select

from billing.db import read_session, unit_of_work
from payments.orders import PaymentOrder
from tests import factories
from tests.payment_helpers import Phone, acknowledged, balance

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _token(html: str) -> str:
    return CSRF.search(html).group(1)


class Browser:
    """A phone's browser against the live portal (and whatever cashier it is sent to)."""

    def __init__(self, base: str) -> None:
        self.base, self.http = base, requests.Session()

    def get(self, path: str) -> requests.Response:
        return self.http.get(path if path.startswith("http") else self.base + path, timeout=10)

    def post(self, path: str, data: dict, **kwargs) -> requests.Response:
        form = self.get(path).text if "csrf_token" not in data else ""
        data = {"csrf_token": _token(form), **data} if form else data
        return self.http.post(self.base + path, data=data, timeout=10, **kwargs)

    def log_in(self, phone: str) -> None:
        page = self.http.post(self.base + "/login/code", data={"phone": phone, "csrf_token": _token(self.get("/").text)})
        code = re.search(r"验证码：(\d{6})", page.text).group(1)
        self.http.post(self.base + "/login", data={"phone": phone, "code": code, "csrf_token": _token(page.text)})

    def pay_at_cashier(self, url: str, payer: str = "demo") -> requests.Response:
        page = self.get(url)
        action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1).replace("&amp;", "&")
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        return self.http.post(requests.compat.urljoin(page.url, action), data={**hidden, "action": "pay", "payer": payer},
                              timeout=10)


@pytest.fixture
def household(engine, clock):
    with unit_of_work(engine) as db:
        mine = factories.account(db, at=clock(), account_no="3301000001", regime="prepaid")
        theirs = factories.account(db, at=clock(), account_no="3301000002")
        factories.resident(db, "13800000001", at=clock(), accounts=(mine,))
        factories.resident(db, "13800000002", at=clock(), accounts=(theirs,))
    return mine, theirs


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
def test_resident_prepays_at_the_cashier_and_comes_back_paid(engine, app, live, gateways, household, channel,
                                                            wechat_sandbox, alipay_sandbox):
    mine, _ = household
    phone = Browser(live.url)
    phone.log_in("13800000001")
    started = phone.post("/pay/3301000001", {"what": "prepay", "amount": "88.80", "channel": channel},
                         allow_redirects=False)
    assert started.status_code == 302
    back = phone.pay_at_cashier(started.headers["Location"])
    assert "等待支付结果" in back.text  # showing the page asks nobody: the channel is asked by a POST
    refresh = re.search(r'action="(/pay/orders/(\w+)/check)"', back.text)  # the 刷新结果 button
    shown = phone.post(refresh.group(1), {"csrf_token": _token(back.text)})
    assert "支付成功" in shown.text and "88.80" in shown.text
    assert balance(engine, mine) == 8880
    sandbox = wechat_sandbox if channel == "wechat" else alipay_sandbox
    out_trade_no = refresh.group(2)
    txn = sandbox.orders[out_trade_no]["transaction_ids"][0] if channel == "wechat" else None
    notified = Phone(channel, sandbox)
    assert acknowledged(channel, notified.deliver(notified.notification(out_trade_no, txn)))
    assert balance(engine, mine) == 8880  # the notification that followed changed nothing


def test_someone_elses_account_and_order_are_not_found(engine, app, live, gateways, household):
    phone = Browser(live.url)
    phone.log_in("13800000001")
    assert phone.get("/pay/3301000002").status_code == 404
    started = phone.post("/pay/3301000001", {"what": "prepay", "amount": "10", "channel": "wechat"},
                         allow_redirects=False)
    order_path = re.search(r"(/pay/orders/\w+)", requests.utils.unquote(started.headers["Location"])).group(1)
    other = Browser(live.url)
    other.log_in("13800000002")
    assert other.get(order_path).status_code == 404


@pytest.mark.parametrize(("amount", "says"), [("abc", "金额格式有误"), ("0.5", "金额需在 1.00 至 5000.00 元之间"),
                                              ("1.234", "金额格式有误")])
def test_bad_amounts_are_named_and_start_nothing(engine, app, live, gateways, household, amount, says):
    phone = Browser(live.url)
    phone.log_in("13800000001")
    page = phone.post("/pay/3301000001", {"what": "prepay", "amount": amount, "channel": "alipay"})
    assert says in page.text
    with read_session(engine) as db:
        assert db.exec(select(PaymentOrder)).all() == []


@pytest.mark.parametrize("amount", ["9" * 100_000, '"><script>alert(1)</script>', "1\r\nSet-Cookie: x=1"],
                         ids=["100,000 characters", "markup", "header injection"])
def test_a_bad_amount_comes_back_in_the_form_never_in_a_url(engine, app, live, gateways, household, amount):
    phone = Browser(live.url)
    phone.log_in("13800000001")
    page = phone.post("/pay/3301000001", {"what": "prepay", "amount": amount, "channel": "wechat"},
                      allow_redirects=False)
    assert page.status_code == 400 and "Location" not in page.headers and "x=1" not in page.headers.get("Set-Cookie", "")
    assert "金额格式有误" in page.text
    typed = re.search(r'<input id="amount"[^>]* value="([^"]*)"', page.text).group(1)
    assert html.unescape(typed) == amount and "<script>" not in page.text
    with read_session(engine) as db:
        assert db.exec(select(PaymentOrder)).all() == []


@pytest.fixture
def property_manager(engine, clock):
    with unit_of_work(engine) as db:
        _, accounts = factories.manager(db, at=clock(), account_nos=["3301000011", "3301000012", "3301000013"],
                                        member_phone="13900000000")
    return accounts


def test_manager_upload_with_bad_lines_is_refused_whole(engine, app, live, gateways, property_manager):
    desk = Browser(live.url)
    desk.log_in("13900000000")
    token = _token(desk.get("/manager/").text)
    upload = "户号,金额\n3301000011,100\n3301000099,50\n3301000012,abc\n".encode("gbk")
    page = desk.http.post(live.url + "/manager/upload", data={"csrf_token": token},
                          files={"file": ("bulk.csv", upload, "text/csv")})
    assert page.status_code == 400
    assert "第3行：户号 3301000099 不属于本物业" in page.text and "第4行：金额 abc 格式有误" in page.text
    assert [balance(engine, a) for a in property_manager] == [0, 0, 0]


@pytest.mark.parametrize(("upload", "status", "says"), [
    (b"3301000011,100\n3301000012," + b"9" * 200_000 + b"\n", 400, "第2行：这一行超过 200 个字符"),
    (b'3301000011,100\n3301000012,"100\n', 400, "第2行：引号不成对"),
    (b"3301000011," + b"1" * 1_000_000, 400, "第1行：文件超过 256 KB"),
    (b"3301000011," + b"1" * 20_000_000, 413, "提交的内容或文件太大"),  # the body cap answers before anything reads it
    (b"PK\x03\x04\x00\x00", 400, "第1行：含有空字符"),
], ids=["200KB field", "unterminated quote", "1MB no newline", "20MB no newline", "xlsx"])
def test_manager_upload_the_csv_module_chokes_on_is_refused_naming_the_line(engine, app, live, gateways,
                                                                           property_manager, upload, status, says):
    desk = Browser(live.url)
    desk.log_in("13900000000")
    token = _token(desk.get("/manager/").text)
    page = desk.http.post(live.url + "/manager/upload", data={"csrf_token": token, "channel": "wechat"},
                          files={"file": ("bulk.csv", upload, "text/csv")})
    assert page.status_code == status and says in page.text
    with read_session(engine) as db:
        assert db.exec(select(PaymentOrder)).all() == []


def test_manager_pays_many_accounts_by_qr_and_gets_one_receipt(engine, app, live, gateways, property_manager,
                                                               wechat_sandbox):
    wechat_sandbox.auto_notify = True
    desk = Browser(live.url)
    desk.log_in("13900000000")
    token = _token(desk.get("/manager/").text)
    chosen = {"pick": ["3301000011", "3301000013"], "amount-3301000011": "120.50", "amount-3301000013": "80.00"}
    preview = desk.http.post(live.url + "/manager/preview", data={"csrf_token": token, **chosen})
    selection = re.search(r'name="selection" value="([^"]+)"', preview.text).group(1)
    page = desk.http.post(live.url + "/manager/pay", data={"csrf_token": token, "channel": "wechat",
                                                           "selection": selection})
    with read_session(engine) as db:
        code_url = db.exec(select(PaymentOrder)).one().checkout_url
    assert code_url.startswith("weixin://wxpay/bizpayurl") and code_url not in page.text
    desk.pay_at_cashier(f"{wechat_sandbox.url}/sandbox/scan?code_url={requests.utils.quote(code_url)}")
    assert wechat_sandbox.wait_idle(10)
    receipt = desk.get(page.url).text
    assert "代缴成功" in receipt and "合计 2 户" in receipt and "200.50" in receipt
    assert [balance(engine, a) for a in property_manager] == [12050, 0, 8000]


def test_residents_without_a_manager_cannot_open_manager_pages(engine, app, live, gateways, household):
    phone = Browser(live.url)
    phone.log_in("13800000001")
    assert phone.get("/manager/").status_code == 403
