"""对账差异 in the browser: finance on a phone opens a 短款 from the queue and asks for its write-off;
a second person at a desk approves it, and the difference is written off."""

from datetime import timedelta

from sqlmodel import select

from billing.accounts import Account
from billing.clock import beijing_date, system_clock
from billing.db import read_session, unit_of_work
from payments import reconciliation
from payments.gateways.base import PAID, Merchant, PaymentReport
from payments.orders import create_order
from payments.reconciliation_records import Difference
from payments.settlement import settle
from tests.e2e import browser
from tests.e2e.test_staff import staff_log_in
from tests.payment_fixtures import APPID, MCHID

GHOST = "E2E-GHOST-0001"


def _short(site) -> Difference:
    """A 12.34 元 payment booked on a day long ago that the channel's statement of that day lacks."""
    now = system_clock()
    day = beijing_date(now) - timedelta(days=400)  # before anything the demo county paid
    merchant = Merchant("wechat", APPID, MCHID)
    with unit_of_work(site.engine) as db:
        account = db.exec(select(Account).order_by(Account.account_no)).first()
        placed = create_order(db, channel="wechat", scene="h5", purpose="prepay", lines=[(account, 1234)],
                              description="电费预存", now=now, ttl=timedelta(minutes=30))
        report = PaymentReport("wechat", placed.out_trade_no, PAID, 1234, APPID, MCHID, channel_txn_id=GHOST,
                               paid_at=now - timedelta(days=400), source="query")
        assert settle(db, report, merchant, now=now).outcome == "credited"
    reconciliation.reconcile(site.engine, None, "wechat", day, merchant=merchant, now=now, data=b"")
    with read_session(site.engine) as db:
        return db.exec(select(Difference).where(Difference.ref == GHOST)).one()


def test_a_short_is_written_off_by_two_people(site, request):
    difference = _short(site)
    asker = browser.Page(browser.start(browser.PHONE), site.url, f"{request.node.name}-asker")
    approver = browser.Page(browser.start(browser.DESK), site.url, f"{request.node.name}-approver")
    request.addfinalizer(asker.chrome.quit), request.addfinalizer(approver.chrome.quit)
    staff_log_in(asker, "finance1")
    asker.open(f"/staff/reconciliation?day={difference.day.isoformat()}")
    asker.wait_for_text(GHOST)
    asker.shoot("queue")
    asker.open(f"/staff/reconciliation/{difference.id}")
    asker.wait_for_text("渠道对账单上没有这笔")
    asker.fill("#reason", "渠道核实无此交易")
    asker.shoot("difference")
    asker.press("申请核销")
    asker.wait_for_text("核销申请已提交")
    staff_log_in(approver, "admin")
    approver.open("/staff/reconciliation/write-offs")
    approver.shoot("write-offs")
    approver.press("批准核销")
    approver.wait_for_text("已批准核销")
    with read_session(site.engine) as db:
        assert db.get(Difference, difference.id).status == "written_off"
