"""A newcomer on a phone: logs in with a phone that has nothing bound, binds the demo's 户号 with the
printed proof, reads its usage chart and the table behind it, prepays 100 元 (a quick amount) through
the WeChat Pay sandbox cashier, and sees the new balance, the payment in the history and its receipt.
A desk window then shows the same pages at 1366 px.  Screenshots of each page are saved."""

from __future__ import annotations

from billing.db import read_session
from billing.money import format_yuan
from demo.logins import FIRST_LOGIN, UNBOUND_LOGIN, binding_example
from tests.e2e.test_resident import balance, log_in


def _wide_enough(page) -> None:
    width = page.chrome.execute_script("return document.documentElement.scrollWidth")
    viewport = page.chrome.execute_script("return window.innerWidth")
    assert width <= viewport, f"{page.chrome.current_url} is {width} px wide in a {viewport} px window"


def _open_table(page) -> None:
    page.find("details.usage-table summary").click()
    assert page.find("table.usage-rows").is_displayed()


def test_a_newcomer_binds_reads_usage_pays_and_sees_the_receipt(site, phone, desk):
    with read_session(site.engine) as db:
        example = binding_example(db)
    log_in(phone, UNBOUND_LOGIN)  # the demo prints it with the 户号 and proof to bind
    phone.wait_for_text("还没有绑定户号")
    phone.shoot("home-empty")
    phone.press("绑定户号")
    phone.fill("#account_no", example.account_no)
    phone.fill("#id_tail", example.id_tail)
    phone.fill("#label", "父母家")
    phone.shoot("bind")
    phone.press("下一步")
    phone.wait_for_text("请核对户主姓名")
    phone.shoot("bind-confirm")
    phone.press("确认绑定")
    phone.wait_for_text(f"已绑定户号 {example.account_no}")
    assert "父母家" in phone.text() and "预计可用" in phone.text() and "年度阶梯" in phone.text()
    phone.shoot("home")
    _wide_enough(phone)

    phone.click(f'a[href="/usage/{example.account_no}"]')
    phone.wait_for_text("合计")
    drawn = phone.chrome.execute_script(
        "const c = document.getElementById('usage-chart'); return !!window.Chart && !!Chart.getChart(c);")
    assert drawn, "chart.js did not draw the usage chart"
    _open_table(phone)
    assert "峰" in phone.find("table.usage-rows").text
    phone.shoot("usage-day")
    phone.open(f"/usage/{example.account_no}?view=month")
    phone.wait_for_text("合计")
    _open_table(phone)
    assert "去年同月" in phone.find("table.usage-rows").text
    phone.shoot("usage-month")
    _wide_enough(phone)

    before = balance(site, example.account_no)
    phone.open(f"/pay/{example.account_no}")
    phone.click('[data-quick-amount="100.00"]')  # fills the field in place
    assert phone.find("#amount").get_attribute("value") == "100.00"
    phone.find("input[name=channel][value=wechat]").click()
    phone.shoot("pay-quick-amount")
    phone.press("去支付")
    phone.press("确认支付")
    phone.wait_for_text("支付成功", timeout=30)
    assert balance(site, example.account_no) == before + 10_000
    phone.press("返回我的户号")
    phone.wait_for_text(f"余额 {format_yuan(before + 10_000)} 元")

    phone.click(f'a[href="/payments/{example.account_no}"]')
    phone.wait_for_text("+¥100.00")
    phone.shoot("history")
    phone.click(".history-entry")
    phone.wait_for_text("缴费凭证")
    assert f"¥{format_yuan(before + 10_000)}" in phone.text() and "微信支付" in phone.text()
    phone.shoot("receipt")
    phone.open("/settings")
    phone.wait_for_text("免打扰时段")
    phone.shoot("settings")
    _wide_enough(phone)

    log_in(desk, FIRST_LOGIN)
    desk.wait_for_text("我的户号")
    desk.shoot("desk-home")
    account_no = desk.find(".account-no").text
    for path, text, label in ((f"/usage/{account_no}?view=month", "合计", "usage-month"),
                              (f"/payments/{account_no}", "缴费记录", "history"), ("/bind", "户主身份证号后四位", "bind"),
                              ("/settings", "免打扰时段", "settings")):
        desk.open(path)
        desk.wait_for_text(text)
        if label.startswith("usage"):
            _open_table(desk)
        desk.shoot(f"desk-{label}")
        _wide_enough(desk)
