"""Every API resource is scoped to the caller's bound 户号: another resident's 户号, a 户号 next to
one's own, nobody's 户号, their bills (and a held bill), their order and their counter receipt all
answer 404 with the same body as something that does not exist, so existence does not leak; and
an order cannot be placed on them.  On both databases."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from billing.accounts import Account
from billing.db import read_session, unit_of_work
from billing.residents import Binding
from payments.orders import PaymentOrder
from tests.web import api_world
from tests.web.api_client import api
from tests.web.api_world import HOME, MINE, NEIGHBOUR, NOBODYS, OWING


@pytest.fixture
def world(engine, clock, app, gateways, wechat_sandbox):
    return api_world.build(engine, clock, gateways, wechat_sandbox)


def _not_found(answer, field: str) -> None:
    assert answer.status_code == 404, answer.get_json()
    code = "binding_not_found" if field == "account_no" else "not_found"
    assert answer.get_json()["code"] == code and answer.get_json()["field"] == field


def test_other_and_sequential_account_numbers_are_not_found(engine, app, world):
    phone = api(app, MINE)
    for number in (NEIGHBOUR, NOBODYS, "3301000000", "0000000000", "330100000１", " 3301000001", "33010000011"):
        for path in ("", "/bills", "/payments", "/payments/1", "/summary", "/usage/daily", "/usage/monthly",
                     "/usage/yearly"):
            _not_found(phone.get(f"/api/v1/accounts/{number}{path}"), "account_no")
        _not_found(phone.call("PATCH", f"/api/v1/bindings/{number}", json={"label": "家"}), "account_no")
        _not_found(phone.call("DELETE", f"/api/v1/bindings/{number}"), "account_no")
        _not_found(phone.post(f"/api/v1/accounts/{number}/orders", {"what": "prepay", "amount_fen": 1000}),
                   "account_no")
    their = phone.get(f"/api/v1/accounts/{NEIGHBOUR}").get_json()
    assert their == phone.get(f"/api/v1/accounts/{NOBODYS}").get_json()  # the same words either way
    with read_session(engine) as db:
        assert db.exec(select(func.count()).select_from(PaymentOrder)).one() == 3  # no order was placed


def test_bill_ids_of_other_accounts_are_not_found(engine, app, world):
    phone = api(app, MINE)
    mine = world.my_bills[0]
    assert phone.get(f"/api/v1/accounts/{OWING}/bills/{mine}").status_code == 200
    for account_no, bill_id in [(OWING, other) for other in world.their_bills] + [
            (NEIGHBOUR, world.their_bills[0]), (HOME, mine), (OWING, mine + 100), (OWING, 0), (OWING, 2**63)]:
        answer = phone.get(f"/api/v1/accounts/{account_no}/bills/{bill_id}")
        _not_found(answer, "bill_id" if account_no != NEIGHBOUR else "account_no")


def test_receipt_ids_of_other_accounts_are_not_found(engine, app, world):
    phone = api(app, MINE)
    assert phone.get(f"/api/v1/accounts/{HOME}/payments/{world.my_receipts[0]}").status_code == 200
    nearby = {receipt + step for receipt in world.my_receipts for step in (-2, -1, 1, 2)} - set(world.my_receipts)
    for receipt in sorted(set(world.their_receipts) | nearby | {0, 2**63}):
        for account_no in (HOME, OWING):
            _not_found(phone.get(f"/api/v1/accounts/{account_no}/payments/{receipt}"), "receipt_id")
        _not_found(phone.get(f"/api/v1/accounts/{NEIGHBOUR}/payments/{receipt}"), "account_no")


def test_orders_and_receipts_of_others_are_not_found(engine, app, world):
    phone = api(app, MINE)
    assert phone.get(f"/api/v1/orders/{world.my_orders[0]}").status_code == 200
    for number in [*world.their_orders, "DF00000000000000000000000000", "x" * 300, "1"]:
        _not_found(phone.get(f"/api/v1/orders/{number}"), "out_trade_no")
        _not_found(phone.post(f"/api/v1/orders/{number}/check"), "out_trade_no")


def test_nothing_of_theirs_shows_in_my_lists(engine, app, world):
    phone = api(app, MINE)
    seen = str([phone.get(path).get_json() for path in (
        "/api/v1/accounts", f"/api/v1/accounts/{HOME}/payments", f"/api/v1/accounts/{OWING}/payments",
        f"/api/v1/accounts/{HOME}/bills", f"/api/v1/accounts/{OWING}/bills")])
    seen += str([phone.get(path).get_json() for path in ("/api/v1/home", f"/api/v1/accounts/{HOME}/summary")])
    for theirs in [NEIGHBOUR, "赵", *world.their_orders, api_world.THEIRS]:
        assert theirs not in seen
    their_phone = api(app, api_world.THEIRS)
    [refund] = their_phone.get(f"/api/v1/accounts/{NEIGHBOUR}/payments?limit=1").get_json()["items"]
    assert refund["kind"] == "refund"  # B sees their own, newest first
    assert their_phone.get(f"/api/v1/orders/{world.my_orders[0]}").status_code == 404


def test_a_family_member_who_bound_the_same_account_sees_its_payment(engine, clock, app, world):
    """An order is visible through the 户号 it paid for: B binds A's home 户号 too and sees A's
    payment into it, but only the lines of 户号 B has bound."""
    with unit_of_work(engine) as db:
        db.add(Binding(resident_id=api_world.resident_id(engine, api_world.THEIRS),
                       account_id=_account_id(db, HOME), bound_at=clock()))
    receipt = api(app, api_world.THEIRS).get(f"/api/v1/orders/{world.my_orders[0]}").get_json()
    assert [line["account_no"] for line in receipt["lines"]] == [HOME]


def _account_id(db, account_no: str) -> int:
    return db.exec(select(Account.id).where(Account.account_no == account_no)).one()
