"""A held bill at the reviewer's desk: its summary and lines on the review item page, approve (the
bill is issued and posted) and cancel (the bill is cancelled, the account rebilled by the next run),
refusals that change nothing, and any bill as a PDF for the staff who may print it."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader
from sqlmodel import select

from billing import bills, ledger
from billing.bill_records import Bill
from billing.db import read_session, unit_of_work
from billing.ledger import Transfer
from billing.review import OPEN, RESOLVED, ReviewItem, open_item
from tests import factories
from tests.bill_helpers import OCTOBER
from tests.conftest import csrf_token
from tests.staff_helpers import add_team, log_in

LINES = (bills.Line("tier_1", "bill.line.tier_1", 148_488, 2_760_000, 53_800),  # 2760 kWh at 0.538 元
         bills.Line("tier_2", "bill.line.tier_2", 588, 10_000, 58_800),
         bills.Line("surcharge:reservoir", "bill.line.surcharge", 50))
TOTAL = "1491.26"


@pytest.fixture
def held(engine, clock):
    """A held bill of 1491.26 元 with its review item (two rules fired); the team of one per role."""
    add_team(engine)
    with unit_of_work(engine) as db:
        account = factories.account(db, at=clock(), account_no="3301000088", holder_name="李小荣")
        bill = bills.create(db, bills.Draft(account.id, *OCTOBER, date(2026, 12, 15), LINES), now=clock(), hold=True)
        item_id = open_item(db, kind="bill", rule="high_amount", subject_on=OCTOBER[0], at=clock(),
                            account_id=account.id, district_id=account.district_id,
                            detail={"bill_id": bill.id, "rules": ["high_amount", "estimated_read"],
                                    "average_fen": 30_000, "total_fen": 149_126})
    return bill.id, item_id


def _as(app, username: str):
    client = app.test_client()
    log_in(client, username)
    return client


def _decide(client, item_id: int, action: str, **form):
    token = csrf_token(client, f"/staff/review/{item_id}")
    return client.post(f"/staff/review/{item_id}/{action}", data={"csrf_token": token, **form})


def _state(engine, bill_id: int, item_id: int) -> tuple:
    with read_session(engine) as db:
        bill, item = db.get(Bill, bill_id), db.get(ReviewItem, item_id)
        posted = db.exec(select(Transfer.amount_fen).where(Transfer.key == f"bill:{bill_id}")).all()
        return bill.state, bill.number, item.status, item.action, list(posted)


def test_the_item_page_shows_the_bill_its_rules_and_lines(app, held):
    bill_id, item_id = held
    page = _as(app, "reviewer1").get(f"/staff/review/{item_id}").get_data(as_text=True)
    for text in ("3301000088", "李*荣", "2026-10-01 至 2026-10-31", TOTAL, "金额异常偏高", "估抄出账", "暂挂待审核",
                 "第一档电费", "2760.00", "0.538", "1484.88", "政府性基金及附加", "批准出账", "作废重算",
                 "近期账单平均金额", "¥300.00", f"/staff/bills/{bill_id}.pdf", "/staff/accounts/3301000088"):
        assert text in page, text


def test_approve_issues_the_bill_onto_the_ledger_and_resolves_the_item(engine, app, held):
    bill_id, item_id = held
    client = _as(app, "reviewer1")
    answer = _decide(client, item_id, "approve", note="核实为空调季用电")
    assert answer.status_code == 302
    assert _state(engine, bill_id, item_id) == ("issued", "2026-000001", RESOLVED, "approve", [149_126])
    page = client.get(f"/staff/review/{item_id}").get_data(as_text=True)
    assert "已批准出账" in page and "已处理：批准出账" in page and "2026-000001" in page
    # Decided: a second approval (another reviewer's stale page) is refused and changes nothing.
    again = _decide(_as(app, "admin1"), item_id, "approve")
    assert again.status_code == 409 and "这条事项已经处理过了" in again.get_data(as_text=True)
    assert _state(engine, bill_id, item_id) == ("issued", "2026-000001", RESOLVED, "approve", [149_126])


def test_cancel_cancels_the_bill_and_resolves_the_item(engine, app, held):
    bill_id, item_id = held
    answer = _decide(_as(app, "admin1"), item_id, "cancel", reason="示数抄错，已更正")
    assert answer.status_code == 302
    assert _state(engine, bill_id, item_id) == ("cancelled", None, RESOLVED, "cancel", [])
    with read_session(engine) as db:
        assert db.get(Bill, bill_id).cancel_reason == "示数抄错，已更正"


@pytest.mark.parametrize("reason", ["", "   ", "长" * 401])
def test_a_cancel_without_a_reason_is_refused_naming_the_field(engine, app, held, reason):
    bill_id, item_id = held
    answer = _decide(_as(app, "reviewer1"), item_id, "cancel", reason=reason)
    assert answer.status_code == 400 and "请填写作废原因" in answer.get_data(as_text=True)
    assert _state(engine, bill_id, item_id) == ("held", None, OPEN, None, [])


def test_a_bill_no_longer_held_is_refused_and_nothing_changes(engine, clock, app, held):
    bill_id, item_id = held
    with unit_of_work(engine) as db:  # issued meanwhile by another path: the item is still open
        bills.issue(db, bill_id, now=clock())
    for action, form in (("approve", {}), ("cancel", {"reason": "重算"})):
        answer = _decide(_as(app, "reviewer1"), item_id, action, **form)
        assert answer.status_code == 400 and "账单已不是暂挂状态" in answer.get_data(as_text=True), action
        assert _state(engine, bill_id, item_id)[:4] == ("issued", "2026-000001", OPEN, None)
    with read_session(engine) as db:
        assert ledger.balance_fen(db, ledger.customer_code("3301000088")) == -149_126


def test_a_cashier_cannot_approve(engine, app, held):
    bill_id, item_id = held
    cashier = _as(app, "cashier1")
    token = csrf_token(cashier, "/staff/")
    answer = cashier.post(f"/staff/review/{item_id}/approve", data={"csrf_token": token})
    assert answer.status_code == 403 and "没有权限" in answer.get_data(as_text=True)
    assert _state(engine, bill_id, item_id) == ("held", None, OPEN, None, [])


def _pdf_text(answer) -> str:
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.data)).pages)


@pytest.mark.parametrize("role", ["reviewer1", "cashier1", "finance1", "admin1"])
def test_the_pdf_of_a_held_then_issued_bill(app, held, role):
    bill_id, item_id = held
    client = _as(app, role)
    text = _pdf_text(client.get(f"/staff/bills/{bill_id}.pdf"))
    assert TOTAL in text and "暂挂待审核" in text and "3301000088" in text and "李*荣" in text
    if role == "admin1":
        _decide(client, item_id, "approve")
        answer = client.get(f"/staff/bills/{bill_id}.pdf")
        assert 'filename="2026-000001.pdf"' in answer.headers["Content-Disposition"]
        text = _pdf_text(answer)
        assert TOTAL in text and "2026-000001" in text and "暂挂待审核" not in text


def test_the_pdf_of_a_cancelled_bill_says_so(app, held):
    bill_id, item_id = held
    client = _as(app, "reviewer1")
    _decide(client, item_id, "cancel", reason="重算")
    text = _pdf_text(client.get(f"/staff/bills/{bill_id}.pdf"))
    assert "已作废" in text and "无需缴费" in text and "余额" not in text


def test_the_pdf_route_refuses_an_unknown_bill_and_a_reader(app, held):
    bill_id, _ = held
    assert _as(app, "reviewer1").get(f"/staff/bills/{bill_id + 1000}.pdf").status_code == 404
    assert _as(app, "reviewer1").get("/staff/bills/99999999999999999999.pdf").status_code == 404
    assert _as(app, "reader1").get(f"/staff/bills/{bill_id}.pdf").status_code == 403
