"""The resident's home page is kept once rendered (``portal.pages.views``): every visit still checks
what the page is made of (``billing.resident_home``), so a payment, a read, a new label or another
language shows at once; a kept page is only ever its own resident's, its logout form works, and a
message shown once is not kept."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update

from billing.db import unit_of_work
from billing.residents import Binding
from tests.bill_helpers import pay
from tests.conftest import CSRF
from tests.explained_helpers import resident_log_in
from tests.read_helpers import OPENED, old_account, reads
from tests import factories

ME, STRANGER = "13800000001", "13800000002"
MINE, THEIRS = "3301000001", "3301000002"


def _seed(engine, clock):
    with unit_of_work(engine) as db:
        mine = old_account(db, account_no=MINE, regime="prepaid", holder_name="李小荣")
        theirs = old_account(db, account_no=THEIRS, holder_name="赵强")
        reads(db, mine.meter_id, date(2026, 10, 1), [n * 10_000 for n in range(57)], clock)
        factories.resident(db, ME, at=OPENED, accounts=(mine,))
        factories.resident(db, STRANGER, at=OPENED, accounts=(theirs,))
    return mine, theirs


def _home(client) -> str:
    page = client.get("/")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _kept(app) -> int:
    return len(app.extensions["dianfei"].pages.found)


def test_the_kept_page_follows_payments_reads_labels_and_language(engine, clock, app, client):
    mine, _ = _seed(engine, clock)
    resident_log_in(client, ME)
    first = _home(client)
    assert _home(client) == first and _kept(app) == 1  # the second visit is the kept page
    pay(engine, clock, mine, 12_345)
    paid = _home(client)
    assert paid != first and "123.45" in paid
    with unit_of_work(engine) as db:  # 11-27's read arrives
        reads(db, mine.meter_id, date(2026, 11, 27), [570_000], clock)
    assert "2026-11-26" in _home(client)  # the figures now stand at the new read's freeze
    with unit_of_work(engine) as db:
        db.execute(update(Binding).values(label="父母家"))
    assert "父母家" in _home(client)
    english = client.get("/?lang=en").get_data(as_text=True)
    assert "My accounts" in english and "我的户号" not in english
    assert "My accounts" in _home(client)  # the language is the session's now
    assert _kept(app) == 5
    assert app.extensions["dianfei"].engine.pool.checkedout() == 0  # every request gave its connection back


def test_a_kept_page_is_only_its_own_residents(engine, clock, app):
    _seed(engine, clock)
    me, stranger = app.test_client(), app.test_client()
    resident_log_in(me, ME)
    resident_log_in(stranger, STRANGER)
    for _ in range(2):
        mine, theirs = _home(me), _home(stranger)
        assert MINE in mine and THEIRS not in mine
        assert THEIRS in theirs and MINE not in theirs
    assert _kept(app) == 2


def test_the_kept_pages_logout_form_works(engine, clock, client):
    _seed(engine, clock)
    resident_log_in(client, ME)
    _home(client)
    token = CSRF.search(_home(client)).group(1)  # from the kept page
    assert client.post("/logout", data={"csrf_token": token}).status_code in (302, 303)
    assert "手机号登录" in _home(client)


def test_a_message_shown_once_is_not_kept(engine, clock, app, client):
    _seed(engine, clock)
    resident_log_in(client, ME)
    token = CSRF.search(_home(client)).group(1)
    client.post(f"/accounts/{MINE}/label", data={"label": "家", "csrf_token": token})
    assert "备注已保存" in _home(client)
    again = _home(client)
    assert "备注已保存" not in again and "家" in again
