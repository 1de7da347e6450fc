"""A reader at a desk records a meter change (换表): finds the 户号, types a final read that is too low
and is told why, corrects it, and the 户号 is on its new meter."""

from sqlalchemy import select

from billing.accounts import Account, Meter
from billing.db import read_session
from billing.kwh import format_kwh
from billing.reads import VALID, Read
from tests.e2e.test_staff import staff_log_in

ACCOUNT = "3301000001"


def _last_read(site) -> Read:
    with read_session(site.engine) as db:
        meter_id = db.execute(select(Account.meter_id).where(Account.account_no == ACCOUNT)).scalar()
        return db.execute(select(Read).where(Read.meter_id == meter_id, Read.status == VALID)
                          .order_by(Read.read_on.desc())).scalars().first()


def _display(wh: int) -> int:
    """What a reader types: the register to the display's 10 Wh, and never below the last read."""
    return -(-wh // 10) * 10


def test_a_reader_records_a_meter_change(site, desk):
    last = _last_read(site)
    staff_log_in(desk, "reader1")
    desk.wait_for_text("换表与倍率变更")
    desk.click("nav a[href$='/staff/meters']")
    desk.wait_for_text("输入户号")
    desk.fill("#account_no", ACCOUNT)
    desk.press("查找")
    desk.wait_for_text("表计记录")
    desk.shoot("meter-page")
    desk.fill("#old_final", "1.00")
    desk.fill("#new_meter_no", "H-E2E-0001")
    desk.fill("#meter-reason", "表计烧坏")
    desk.press("登记换表")
    assert "拆表示数 1.00 低于该表" in desk.text()
    assert desk.find("#new_meter_no").get_attribute("value") == "H-E2E-0001"  # what was typed is kept
    desk.shoot("meter-refused")
    desk.fill("#old_final", format_kwh(_display(last.total_wh)))
    for name in ("sharp", "peak", "flat", "valley"):
        if getattr(last, f"{name}_wh") is not None:
            desk.fill(f"#old_final_{name}", format_kwh(_display(getattr(last, f"{name}_wh"))))
    desk.press("登记换表")
    desk.wait_for_text("已换表：新表 H-E2E-0001")
    desk.shoot("meter-changed")
    with read_session(site.engine) as db:
        meter_id = db.execute(select(Account.meter_id).where(Account.account_no == ACCOUNT)).scalar()
        assert db.get(Meter, meter_id).meter_no == "H-E2E-0001"
