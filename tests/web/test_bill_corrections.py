"""作废 and 重开 on the staff account page: who may, the reason required, the rebill from the
corrected reads, refusals in Chinese naming what is wrong, every step audited; bad ids a 404."""

from __future__ import annotations

import pytest
from sqlmodel import select

from billing.audit import AuditEntry
from billing.bill_records import CANCELLED, ISSUED, Bill
from billing.bill_status import position
from billing.db import read_session, unit_of_work
from billing.reads import SUPERSEDED, Read
from tests.conftest import csrf_token
from tests.explained_helpers import NOV, SEP_FEN, billed_account, correct_read
from tests.staff_helpers import add_team, log_in


@pytest.fixture
def billed(engine, clock):
    add_team(engine)
    return billed_account(engine, clock)


def _page(client, billed) -> str:
    return client.get(f"/staff/accounts/{billed.account.account_no}").get_data(as_text=True)


def _cancel(client, billed, bill_id: int, reason: str):
    token = csrf_token(client, f"/staff/accounts/{billed.account.account_no}")
    return client.post(f"/staff/accounts/{billed.account.account_no}/bills/{bill_id}/cancel",
                       data={"csrf_token": token, "reason": reason})


def _rebill(client, billed, bill_id: int):
    token = csrf_token(client, f"/staff/accounts/{billed.account.account_no}")
    return client.post(f"/staff/accounts/{billed.account.account_no}/bills/{bill_id}/rebill", data={"csrf_token": token})


def _state(engine, bill_id: int) -> str:
    with read_session(engine) as db:
        return db.get(Bill, bill_id).state


def test_the_account_page_lists_the_bills_with_states(client, billed):
    log_in(client, "reviewer1")
    page = _page(client, billed)
    assert 'id="bills"' in page and billed.october.number in page and billed.september.number in page
    assert "截止 2026-12-12" in page and "168.40" in page and "作废原因（必填）" in page


def test_a_reader_sees_the_bills_but_may_not_cancel(client, billed, engine):
    log_in(client, "reader1")
    assert "作废原因（必填）" not in _page(client, billed)
    assert _cancel(client, billed, billed.october.id, "抄错").status_code == 403
    assert _state(engine, billed.october.id) == ISSUED


def test_cancel_needs_a_reason_named_in_chinese(client, billed, engine):
    log_in(client, "reviewer1")
    refused = _cancel(client, billed, billed.october.id, "   ")
    assert refused.status_code == 400 and "请填写作废原因" in refused.get_data(as_text=True)
    assert _state(engine, billed.october.id) == ISSUED


def test_cancel_then_rebill_from_the_corrected_read(client, billed, engine, clock):
    log_in(client, "reviewer1")
    done = _cancel(client, billed, billed.october.id, "11月1日示数抄错")
    assert done.status_code == 302
    assert "已作废" in client.get(done.headers["Location"]).get_data(as_text=True)
    assert _state(engine, billed.october.id) == CANCELLED
    correct_read(engine, clock, billed.account.meter_id, NOV, 2_800_000)
    again = _rebill(client, billed, billed.october.id)
    assert again.status_code == 302
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "已按更正后的示数重开账单" in page and "109.60" in page and "重开，替代已作废的账单" in page
    with read_session(engine) as db:
        rebill = db.execute(select(Bill).where(Bill.replaces_bill_id == billed.october.id)).scalar_one()
        assert (rebill.state, rebill.total_fen) == (ISSUED, 10960)
        assert position(db, billed.account.id).balance_fen == -(SEP_FEN + 10960)
        actions = [entry.action for entry in db.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]
    assert actions[-3:] == ["cancel_bill", "issue_bill", "rebill"]
    refused = _rebill(client, billed, billed.october.id)
    assert refused.status_code == 400 and "已经重开过" in refused.get_data(as_text=True)


def test_refusals_name_the_state_and_change_nothing(client, billed, engine):
    log_in(client, "admin1")
    not_cancelled = _rebill(client, billed, billed.october.id)
    assert not_cancelled.status_code == 400 and "只能作废已出账的账单、重开已作废的账单" in not_cancelled.get_data(as_text=True)
    _cancel(client, billed, billed.october.id, "抄错")
    twice = _cancel(client, billed, billed.october.id, "抄错")
    assert twice.status_code == 400 and "只能作废已出账的账单" in twice.get_data(as_text=True)
    with read_session(engine) as db:
        assert position(db, billed.account.id).balance_fen == -SEP_FEN  # cancelled once, not twice


def test_a_rebill_with_a_read_missing_is_refused_in_chinese(client, billed, engine):
    log_in(client, "reviewer1")
    _cancel(client, billed, billed.october.id, "抄错")
    with unit_of_work(engine) as db:
        for read in db.execute(select(Read).where(Read.read_on == NOV)).scalars():
            read.status = SUPERSEDED
    refused = _rebill(client, billed, billed.october.id)
    assert refused.status_code == 400 and "示数缺失" in refused.get_data(as_text=True)
    with read_session(engine) as db:
        assert db.execute(select(Bill).where(Bill.replaces_bill_id == billed.october.id)).first() is None


@pytest.mark.parametrize("bill_id", ["999999", "0", "99999999999999999999", "abc"])
def test_a_made_up_bill_is_a_chinese_404(client, billed, bill_id):
    log_in(client, "reviewer1")
    token = csrf_token(client, f"/staff/accounts/{billed.account.account_no}")
    answer = client.post(f"/staff/accounts/{billed.account.account_no}/bills/{bill_id}/cancel",
                         data={"csrf_token": token, "reason": "抄错"})
    assert answer.status_code == 404 and ("没有找到" in answer.get_data(as_text=True))


def test_another_accounts_bill_is_a_404(client, billed, engine, clock):
    other = billed_account(engine, clock)
    log_in(client, "reviewer1")
    assert _cancel(client, billed, other.october.id, "抄错").status_code == 404
    assert _state(engine, other.october.id) == ISSUED
