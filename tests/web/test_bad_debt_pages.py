"""坏账与核销 at the collections desk: a cut-off resident listed as a candidate, marked with a reason,
its write-off asked for and approved by someone else; blank reasons, one's own approval, a
decision that is neither, and the wrong roles refused in Chinese with nothing changed."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from billing import ledger
from billing.bad_debt_records import BadDebt, BadDebtWriteOff
from billing.db import read_session
from tests.bill_helpers import issue_bill
from tests.conftest import csrf_token
from tests.dunning_helpers import bj, debtor, notify, run_ladder
from tests.staff_helpers import add_team, log_in

PAGE = "/staff/collections/bad-debt"


@pytest.fixture
def cut_off(engine, clock):
    """A resident cut off in January for a bill due 2026-12-01, seen on 2027-06-01."""
    add_team(engine)
    account = debtor(engine, clock)
    issue_bill(engine, clock, account, 23456, due=date(2026, 12, 1))
    for at in (bj(2027, 1, 1, 9, 0), bj(2027, 1, 8, 8, 30)):
        run_ladder(engine, clock, at)
        notify(engine, clock)
    run_ladder(engine, clock, bj(2027, 1, 8, 9, 0))
    clock.now = bj(2027, 6, 1, 10, 0)
    return account


def _post(client, path: str, **form):
    return client.post(path, data={"csrf_token": csrf_token(client, PAGE), **form})


def _count(engine, model) -> int:
    with read_session(engine) as db:
        return db.execute(select(func.count()).select_from(model)).scalar()


def test_mark_ask_and_approve_by_another_person(client, engine, cut_off):
    log_in(client, "finance1")
    page = client.get(PAGE).get_data(as_text=True)
    assert "可标记为坏账" in page and cut_off.account_no in page and "停电后长期欠费" in page
    blank = _post(client, f"/staff/collections/{cut_off.account_no}/bad-debt", reason=" ")
    assert blank.status_code == 400 and "请填写标记坏账的原因" in blank.get_data(as_text=True)
    assert _count(engine, BadDebt) == 0
    assert _post(client, f"/staff/collections/{cut_off.account_no}/bad-debt", reason="户主失联").status_code == 302
    assert "已标记坏账" in client.get("/staff/collections").get_data(as_text=True)
    (debt_id,) = [debt.id for debt in _all(engine, BadDebt)]

    assert _post(client, f"/staff/collections/bad-debt/{debt_id}/write-off", reason="").status_code == 400
    assert _post(client, f"/staff/collections/bad-debt/{debt_id}/write-off", reason="无可执行财产").status_code == 302
    (write_off,) = _all(engine, BadDebtWriteOff)
    own = _post(client, f"/staff/collections/bad-debt/write-offs/{write_off.id}/approve")
    assert own.status_code == 403 and "不能审批自己申请的核销" in own.get_data(as_text=True)
    assert _post(client, f"/staff/collections/bad-debt/write-offs/{write_off.id}/maybe").status_code == 404

    client.get("/staff/logout")
    log_in(client, "admin1")
    page = client.get(PAGE).get_data(as_text=True)
    assert "批准核销" in page and "今日批准将一并核销至今的违约金" in page
    assert _post(client, f"/staff/collections/bad-debt/write-offs/{write_off.id}/approve").status_code == 302
    page = client.get(PAGE).get_data(as_text=True)
    assert "已核销" in page and "¥0.00" in page
    with read_session(engine) as db:
        assert ledger.balance_fen(db, ledger.customer_code(cut_off.account_no)) == 0


def _all(engine, model) -> list:
    with read_session(engine) as db:
        return list(db.execute(select(model).order_by(model.id)).scalars())


def test_an_account_not_at_the_end_of_the_ladder_is_not_marked(client, engine, cut_off, clock):
    clock.now = bj(2027, 3, 1, 10, 0)
    log_in(client, "cashier1")
    refused = _post(client, f"/staff/collections/{cut_off.account_no}/bad-debt", reason="户主失联")
    assert refused.status_code == 400 and "只有催费流程已走完的户号" in refused.get_data(as_text=True)
    assert _post(client, "/staff/collections/0000000000/bad-debt", reason="x").status_code == 404
    assert _count(engine, BadDebt) == 0


@pytest.mark.parametrize(("role", "path"), [("reader1", PAGE), ("reviewer1", PAGE),
                                            ("cashier1", "/staff/collections/bad-debt/write-offs/1/approve")])
def test_the_wrong_role_is_refused_in_chinese(client, cut_off, role, path):
    log_in(client, role)
    answer = client.get(path) if path == PAGE else _post(client, path)
    assert answer.status_code == 403 and "没有权限" in answer.get_data(as_text=True)
