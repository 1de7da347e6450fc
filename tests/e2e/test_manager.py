"""A property manager at a desk: uploads a CSV of 户号 and amounts, checks the preview and its total,
pays once by WeChat Native QR (the demo's simulated scan pays it), and gets one receipt."""

from billing.db import read_session
from billing.managers import ManagerAccount
from sqlmodel import select
from tests.e2e.test_resident import balance, log_in


def _managed(site, count: int) -> list[str]:
    from billing.accounts import Account

    with read_session(site.engine) as db:
        return list(db.exec(select(Account.account_no).join(ManagerAccount, ManagerAccount.account_id == Account.id)
                            .order_by(Account.account_no).limit(count)))


def test_manager_pays_several_accounts_from_a_csv_with_a_preview(site, desk, tmp_path):
    numbers = _managed(site, 3)
    before = {number: balance(site, number) for number in numbers}
    upload = tmp_path / "代缴.csv"
    upload.write_bytes("户号,金额\n".encode("gbk") + b"".join(f"{n},{10 + i}.50\n".encode() for i, n in enumerate(numbers)))
    log_in(desk, "13900000000", path="/manager/")
    desk.wait_for_text("代缴电费")
    desk.shoot("tick-form")
    desk.find("input[type=file][name=file]").send_keys(str(upload))
    desk.press("上传并预览")
    desk.wait_for_text("核对代缴清单")
    assert "¥34.50" in desk.text() and all(number in desk.text() for number in numbers)
    desk.shoot("preview")
    desk.find("input[name=channel][value=wechat]").click()
    desk.press("确认并支付")
    qr = desk.find("img.qr-image")
    assert qr.size["width"] >= 150
    desk.shoot("qr")
    desk.press("演示：模拟手机扫码")
    desk.press("确认支付")
    desk.wait_for_text("代缴成功", timeout=30)
    desk.shoot("receipt")
    assert {number: balance(site, number) for number in numbers} == {
        number: before[number] + 1050 + 100 * i for i, number in enumerate(numbers)}
