"""The resident's pay form and result page as a resident uses them: the form charges exactly what it
says, keeps what was chosen after an error, and the result page reads only; asking the channel is a
POST that the page's script repeats for a bounded time, and a closed or expired order offers 重新支付."""

import re
import pytest
from sqlmodel import select

from billing import ledger
from billing.db import read_session, unit_of_work
from billing.ledger import Posting
from payments.orders import ARREARS, PaymentOrder
from tests import factories
from tests.payment_helpers import balance
from tests.web.test_payment_pages import Browser, _token

OWING = "3301000002"


@pytest.fixture
def owing(engine, clock):
    """A resident whose post-paid 户号 owes 185.24."""
    with unit_of_work(engine) as db:
        account = factories.account(db, at=clock(), account_no=OWING)
        factories.resident(db, "13800000001", at=clock(), accounts=(account,))
        ledger.post(db, Posting("opening:2", ledger.customer_code(OWING), "equity:opening", 18524, "opening"),
                    at=clock())
    return account


def _orders(engine) -> list[PaymentOrder]:
    with read_session(engine) as db:
        return list(db.exec(select(PaymentOrder)))


def _phone(live) -> Browser:
    phone = Browser(live.url)
    phone.log_in("13800000001")
    return phone


def _checked(page: str, name: str) -> list[str]:
    return re.findall(rf'name="{name}" value="(\w+)"\s*checked', page)


def test_the_form_says_what_paying_the_arrears_charges(engine, app, live, gateways, owing):
    form = _phone(live).get(f"/pay/{OWING}").text
    assert "缴清欠费：支付 ¥185.24" in form and 'name="shown_arrears_fen" value="18524"' in form
    assert "js/pay-form.js" in form  # with script, the amount field is out of play while paying the arrears


def test_an_amount_typed_while_paying_the_arrears_is_asked_about(engine, app, live, gateways, owing):
    page = _phone(live).post(f"/pay/{OWING}", {"what": "arrears", "amount": "10", "channel": "alipay",
                                               "shown_arrears_fen": "18524"})
    assert page.status_code == 400 and "已选择缴清欠费 185.24 元，但又填写了其他金额" in page.text
    assert _checked(page.text, "what") == ["arrears"] and _checked(page.text, "channel") == ["alipay"]
    assert 'value="10"' in page.text
    assert _orders(engine) == []


def test_paying_the_arrears_charges_exactly_them(engine, app, live, gateways, owing):
    started = _phone(live).post(f"/pay/{OWING}", {"what": "arrears", "amount": "", "channel": "wechat",
                                                  "shown_arrears_fen": "18524"}, allow_redirects=False)
    assert started.status_code == 302
    (placed,) = _orders(engine)
    assert (placed.amount_fen, placed.purpose) == (18524, ARREARS)


def test_arrears_that_changed_since_the_page_are_shown_again_not_charged(engine, app, live, gateways, owing, clock):
    phone = _phone(live)
    with unit_of_work(engine) as db:  # a bill lands while the resident looks at the form
        ledger.post(db, Posting("bill:x", ledger.customer_code(OWING), "equity:opening", 476, "bill"), at=clock())
    page = phone.post(f"/pay/{OWING}", {"what": "arrears", "channel": "wechat", "shown_arrears_fen": "18524"})
    assert page.status_code == 400 and "欠费金额已变为 190.00 元" in page.text and "支付 ¥190.00" in page.text
    assert _orders(engine) == []


def test_the_channel_choice_survives_a_bad_amount(engine, app, live, gateways, owing):
    page = _phone(live).post(f"/pay/{OWING}", {"what": "prepay", "amount": "abc", "channel": "alipay",
                                               "shown_arrears_fen": "18524"})
    assert page.status_code == 400 and "金额格式有误" in page.text
    assert _checked(page.text, "channel") == ["alipay"] and _checked(page.text, "what") == ["prepay"]


def _start(engine, phone: Browser, amount: str = "50.00", channel: str = "wechat") -> tuple[str, str]:
    started = phone.post(f"/pay/{OWING}", {"what": "prepay", "amount": amount, "channel": channel,
                                           "shown_arrears_fen": "18524"}, allow_redirects=False)
    assert started.status_code == 302
    with phone.http.get(started.headers["Location"], timeout=10):  # the cashier page opens
        pass
    (placed,) = _orders(engine)
    return placed.out_trade_no, f"/pay/orders/{placed.out_trade_no}"


def test_the_result_page_only_reads_and_the_refresh_asks_the_channel(engine, app, live, gateways, owing,
                                                                    wechat_sandbox):
    phone = _phone(live)
    out_trade_no, path = _start(engine, phone)
    wechat_sandbox.pay(out_trade_no, notify=False)
    waiting = phone.get(path).text
    assert "等待支付结果" in waiting and _orders(engine)[0].state == "paying"  # GET changed nothing
    assert 'http-equiv="refresh"' not in waiting  # no endless reloading ...
    assert 'data-poll-limit="40"' in waiting and "js/order-status.js" in waiting  # ... a bounded poll instead
    no_token = phone.http.post(live.url + path + "/check", headers={"Accept": "application/json"})
    assert no_token.status_code == 400 and _orders(engine)[0].state == "paying"
    shown = phone.post(path + "/check", {"csrf_token": _token(waiting)})  # 刷新结果 without script
    assert "支付成功" in shown.text and shown.url.endswith(path)
    assert balance(engine, owing) == -18524 + 5000


def test_a_poll_after_cancelling_stops_once_the_order_expires_and_offers_to_pay_again(
        engine, app, live, gateways, owing, clock):
    phone = _phone(live)
    out_trade_no, path = _start(engine, phone, "60.00", "alipay")
    token = _token(phone.get(path).text)
    headers = {"Accept": "application/json", "X-CSRFToken": token}
    assert phone.http.post(live.url + path + "/check", headers=headers).json()["done"] is False
    clock.advance(minutes=31)
    assert phone.http.post(live.url + path + "/check", headers=headers).json() == {
        "state": "paying", "progress": "expired", "done": True}
    page = phone.get(path).text
    assert "订单已超时，未支付" in page and "order-status.js" not in page
    again = re.search(r'href="(/pay/\d+\?again=\w+)"[^>]*>重新支付', page).group(1)
    form = phone.get(again).text
    assert 'value="60.00"' in form and _checked(form, "channel") == ["alipay"] and _checked(form, "what") == ["prepay"]
