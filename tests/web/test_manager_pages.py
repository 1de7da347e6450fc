"""The property manager's pages as a manager uses them: the tick form keeps what was typed and
names the 户号 at fault, a preview with the total comes before any payment, the WeChat QR code is
an image, the demo's scan leads back to the order, and a member of several organisations chooses."""

import io
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
import segno
from sqlmodel import delete, select

from billing import ledger
from billing.db import read_session, unit_of_work
from billing.ledger import Posting
from billing.managers import ManagerAccount, ManagerMember
from payments.orders import PaymentOrder, order_lines
from tests import factories
from tests.conftest import csrf_token
from tests.payment_helpers import balance
from tests.web.test_home import _log_in
from tests.web.test_payment_pages import Browser, _token

NUMBERS = ["3301000011", "3301000012", "3301000013"]
SELECTION = re.compile(r'name="selection" value="([^"]+)"')
TEMPLATES = Path(__file__).resolve().parents[2] / "portal" / "templates"


@pytest.fixture
def managed(engine, clock):
    """Three managed 户号, the second 136.02 in arrears, and the member who logs in for them."""
    with unit_of_work(engine) as db:
        org, accounts = factories.manager(db, at=clock(), account_nos=NUMBERS, member_phone="13900000000")
        ledger.post(db, Posting("opening:12", ledger.customer_code("3301000012"), "equity:opening", 13602, "opening"),
                    at=clock())
    return org, accounts


def _orders(engine) -> list[PaymentOrder]:
    with read_session(engine) as db:
        return list(db.exec(select(PaymentOrder)))


def _checkbox(page: str, account_no: str) -> str:
    return re.search(rf'<input type="checkbox" name="pick" value="{account_no}"[^>]*>', page).group(0)


def _amount(page: str, account_no: str) -> str:
    return re.search(rf'name="amount-{account_no}"[^>]*value="([^"]*)"', page, re.S).group(1)


def test_a_tick_form_error_names_the_account_and_keeps_ticks_and_amounts(engine, managed, client):
    _log_in(client, "13900000000")
    form = {"csrf_token": csrf_token(client, "/manager/"), "pick": ["3301000011", "3301000013"],
            "amount-3301000011": "abc", "amount-3301000012": "136.02", "amount-3301000013": "50"}
    page = client.post("/manager/preview", data=form)
    text = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "户号 3301000011：金额 abc 格式有误" in text
    assert "checked" in _checkbox(text, "3301000011") and "checked" in _checkbox(text, "3301000013")
    assert "checked" not in _checkbox(text, "3301000012")  # unticked by the manager, stays unticked
    assert [_amount(text, no) for no in NUMBERS] == ["abc", "136.02", "50"]
    assert _orders(engine) == []


def test_an_amount_in_an_unticked_row_is_added_and_the_preview_says_so(engine, managed, client):
    _log_in(client, "13900000000")
    form = {"csrf_token": csrf_token(client, "/manager/"), "pick": ["3301000011"], "amount-3301000011": "10",
            "amount-3301000012": "136.02", "amount-3301000013": "20"}
    text = client.post("/manager/preview", data=form).get_data(as_text=True)
    assert "核对代缴清单" in text and "合计 2 户" in text and "¥30.00" in text
    assert "已按填写的金额加入清单" in text and "<strong>3301000013</strong>" in text
    assert _orders(engine) == []  # a preview, not a payment


def test_the_preview_comes_before_paying_and_pays_exactly_what_it_showed(engine, app, live, gateways, managed):
    desk = Browser(live.url)
    desk.log_in("13900000000")
    token = _token(desk.get("/manager/").text)
    preview = desk.http.post(live.url + "/manager/preview", data={
        "csrf_token": token, "pick": ["3301000011", "3301000012"], "amount-3301000011": "120.50",
        "amount-3301000012": "136.02", "amount-3301000013": ""})
    assert "合计 2 户" in preview.text and "256.52" in preview.text and "支付方式" in preview.text
    assert _orders(engine) == []
    selection = SELECTION.search(preview.text).group(1)
    desk.http.post(live.url + "/manager/pay", data={"csrf_token": token, "channel": "alipay", "selection": selection},
                   allow_redirects=False)
    (placed,) = _orders(engine)
    with read_session(engine) as db:
        assert [(a.account_no, fen) for a, fen in order_lines(db, placed)] == [("3301000011", 12050),
                                                                                ("3301000012", 13602)]
    assert placed.amount_fen == 25652 and placed.scene == "page"


def test_an_upload_is_previewed_before_paying(engine, managed, client):
    _log_in(client, "13900000000")
    upload = (io.BytesIO("户号,金额\n3301000011,100\n3301000013,50.5\n".encode("gbk")), "bulk.csv")
    page = client.post("/manager/upload", data={"csrf_token": csrf_token(client, "/manager/"), "file": upload},
                       content_type="multipart/form-data")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "核对代缴清单" in text and "合计 2 户" in text and "150.50" in text
    assert SELECTION.search(text) and _orders(engine) == []


def test_the_preview_is_not_trusted_when_paying(engine, app, live, gateways, managed):
    org, _ = managed
    desk = Browser(live.url)
    desk.log_in("13900000000")
    token = _token(desk.get("/manager/").text)
    preview = desk.http.post(live.url + "/manager/preview", data={
        "csrf_token": token, "pick": ["3301000011"], "amount-3301000011": "10"})
    selection = SELECTION.search(preview.text).group(1)
    forged = desk.http.post(live.url + "/manager/pay", data={
        "csrf_token": token, "channel": "wechat", "selection": selection[:-2] + "xx"})
    assert forged.status_code == 400 and "清单已失效" in forged.text
    no_channel = desk.http.post(live.url + "/manager/pay", data={"csrf_token": token, "selection": selection})
    assert no_channel.status_code == 400 and "请选择微信支付或支付宝" in no_channel.text
    # The preview again, to choose and pay: the same list (signed anew, so compare the payload).
    assert SELECTION.search(no_channel.text).group(1).split(".")[0] == selection.split(".")[0]
    with unit_of_work(engine) as db:  # the 户号 leaves the organisation between preview and payment
        db.exec(delete(ManagerAccount).where(ManagerAccount.manager_id == org.id))
    gone = desk.http.post(live.url + "/manager/pay", data={"csrf_token": token, "channel": "wechat",
                                                           "selection": selection})
    assert gone.status_code == 400 and "不属于本物业" in gone.text
    assert _orders(engine) == []


def _pay_by_wechat_qr(live, amount: str):
    """The manager previews one 户号 with ``amount`` and pays by WeChat QR: (browser, order page)."""
    desk = Browser(live.url)
    desk.log_in("13900000000")
    token = _token(desk.get("/manager/").text)
    preview = desk.http.post(live.url + "/manager/preview", data={
        "csrf_token": token, "pick": ["3301000011"], "amount-3301000011": amount})
    page = desk.http.post(live.url + "/manager/pay", data={
        "csrf_token": token, "channel": "wechat", "selection": SELECTION.search(preview.text).group(1)})
    return desk, page


def test_wechat_native_pay_shows_a_qr_image_and_the_demo_scan_comes_back(engine, app, live, gateways, managed,
                                                                         wechat_sandbox):
    app.config.update(PAYMENTS_SANDBOX=True, SANDBOX_WECHATPAY_PORT=int(wechat_sandbox.url.rsplit(":", 1)[1]))
    desk, page = _pay_by_wechat_qr(live, "88.00")
    (placed,) = _orders(engine)
    image = re.search(r'<img class="qr-image" src="([^"]+)"', page.text).group(1)
    assert image == segno.make(placed.checkout_url, error="m").svg_data_uri(scale=6, border=2)
    assert image.startswith("data:image/svg+xml") and ">weixin://" not in page.text
    scan = re.search(r'href="([^"]+/sandbox/scan\?[^"]+)"', page.text).group(1).replace("&amp;", "&")
    back = desk.pay_at_cashier(scan)
    assert back.url == page.url  # the demo's phone leads back to the manager's order page
    refreshed = desk.post(unquote(page.url).removeprefix(live.url) + "/check", {"csrf_token": _token(back.text)})
    assert "代缴成功" in refreshed.text and balance(engine, managed[1][0]) == 8800


def test_the_order_page_only_reads_and_its_refresh_asks_the_channel(engine, app, live, gateways, managed,
                                                                     wechat_sandbox):
    desk, page = _pay_by_wechat_qr(live, "12.00")
    (placed,) = _orders(engine)
    wechat_sandbox.pay(placed.out_trade_no, notify=False)
    assert "请用微信扫码支付" in desk.get(page.url).text and _orders(engine)[0].state == "paying"
    check = page.url.removeprefix(live.url) + "/check"
    assert desk.http.post(live.url + check, headers={"Accept": "application/json"}).status_code == 400  # no token
    answer = desk.http.post(live.url + check, headers={"Accept": "application/json", "X-CSRFToken": _token(page.text)}).json()
    assert answer == {"state": "paid", "progress": "paid", "done": True}
    assert balance(engine, managed[1][0]) == 1200


def test_a_member_of_several_organisations_chooses_and_the_choice_is_kept(engine, clock, client):
    with unit_of_work(engine) as db:
        first, _ = factories.manager(db, at=clock(), account_nos=["3301000011"], member_phone="13900000000")
        second, _ = factories.manager(db, at=clock(), account_nos=["3301000021"])
        second.name = "第二物业"
        stranger, _ = factories.manager(db, at=clock(), account_nos=["3301000031"])
        member = db.exec(select(ManagerMember)).first().resident_id
        db.add_all([second, ManagerMember(manager_id=second.id, resident_id=member)])
    _log_in(client, "13900000000")
    assert client.get("/manager/").headers["Location"].endswith("/manager/choose")
    chooser = client.get("/manager/choose").get_data(as_text=True)
    assert "幸福家园物业" in chooser and "第二物业" in chooser
    token = csrf_token(client, "/manager/choose")
    assert client.post("/manager/choose", data={"csrf_token": token, "manager_id": stranger.id}).status_code == 403
    client.post("/manager/choose", data={"csrf_token": token, "manager_id": second.id})
    home = client.get("/manager/").get_data(as_text=True)
    assert "第二物业" in home and "3301000021" in home and "3301000011" not in home and "切换物业" in home


def test_manager_pages_use_the_desk_styles_and_no_inline_script_or_style(engine, managed, client):
    _log_in(client, "13900000000")
    assert "css/pay.css" in client.get("/manager/").get_data(as_text=True)
    assert b"main:has(> .desk)" in client.get("/static/css/pay.css").data
    for template in [*TEMPLATES.glob("manager/*.html"), *TEMPLATES.glob("pages/*.html")]:
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=", text), template.name


def test_back_to_edit_puts_the_preview_into_the_tick_form(engine, managed, client):
    _log_in(client, "13900000000")
    token = csrf_token(client, "/manager/")
    preview = client.post("/manager/preview", data={"csrf_token": token, "pick": ["3301000013"],
                                                    "amount-3301000012": "136.02", "amount-3301000013": "7.5"})
    selection = SELECTION.search(preview.get_data(as_text=True)).group(1)
    home = client.post("/manager/edit", data={"csrf_token": token, "selection": selection}).get_data(as_text=True)
    assert "checked" in _checkbox(home, "3301000013") and _amount(home, "3301000013") == "7.50"
    # Only the selection comes back (it may span pages of the list), with the way back to the whole list.
    assert 'value="3301000012"' not in home and "查看全部户号" in home
