"""The JSON twins of the resident pages, on both databases: binding a 户号 with proof (masked
holder, labels, threshold, a family member, unbinding, wrong proofs counted), usage by day, month
and year from the reads, the summary and home, and reminder settings."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from billing.accounts import Customer, Meter
from billing.db import unit_of_work
from tests import factories
from tests.bill_helpers import pay
from tests.read_helpers import OPENED, TODAY, old_account, reads
from tests.web.api_client import api

ME, FAMILY, TAIL = "13800000001", "13800000002", "123X"
FIRST = date(2025, 9, 1)
DAYS = (TODAY - FIRST).days
DAILY, PEAK, VALLEY = 10_000, 6_000, 4_000


@pytest.fixture
def county(engine, clock):
    """A 户号 whose holder's ID ends in 123X, read every day (10 kWh: 6 peak, 4 valley) since
    2025-09-01, with 100 元 paid in; two residents who have bound nothing yet."""
    with unit_of_work(engine) as db:
        account = old_account(db, account_no="3301000001", regime="prepaid", holder_name="李小荣")
        reads(db, account.meter_id, FIRST, [n * DAILY for n in range(DAYS)], clock,
              registers=[{"peak": n * PEAK, "valley": n * VALLEY} for n in range(DAYS)])
        customer = db.get(Customer, account.customer_id)
        customer.id_number_tail = TAIL
        db.add(customer)
        for phone in (ME, FAMILY):
            factories.resident(db, phone, at=OPENED)
        meter_no = db.get(Meter, account.meter_id).meter_no
    pay(engine, clock, account, 10_000)
    return meter_no


def test_bind_with_proof_relabel_set_the_threshold_and_unbind(engine, app, county):
    phone = api(app, ME)
    checked = phone.post("/api/v1/bindings/check", {"account_no": "3301000001", "id_tail": "123x"}).get_json()
    assert checked == {"account_no": "3301000001", "holder_name_masked": "李*荣", "category": "residential",
                       "regime": "prepaid", "bound_already": False}
    assert phone.get("/api/v1/accounts").get_json()["items"] == []  # checking binds nothing
    bound = phone.post("/api/v1/bindings", {"account_no": "3301000001", "id_tail": TAIL, "label": "父母家"})
    assert bound.status_code == 201
    assert bound.get_json() | {"label": "父母家", "balance_fen": 10_000} == bound.get_json()
    changed = phone.call("PATCH", "/api/v1/bindings/3301000001", json={"label": "家", "balance_low_fen": 5_000})
    assert (changed.get_json()["label"], changed.get_json()["balance_low_fen"]) == ("家", 5_000)
    family = api(app, FAMILY)
    assert family.post("/api/v1/bindings", {"account_no": "3301000001", "meter_no": county.lower()}).status_code == 201
    assert phone.call("DELETE", "/api/v1/bindings/3301000001").status_code == 204
    assert phone.get("/api/v1/accounts").get_json()["items"] == []
    [kept] = family.get("/api/v1/accounts").get_json()["items"]
    assert kept["account_no"] == "3301000001" and kept["balance_low_fen"] == 5_000


def test_wrong_proofs_are_named_counted_and_limited(engine, app, county):
    phone = api(app, ME)
    for _ in range(5):
        wrong = phone.post("/api/v1/bindings", {"account_no": "3301000001", "id_tail": "0000"})
        assert wrong.status_code == 403 and wrong.get_json()["code"] == "binding_proof_wrong"
        assert wrong.get_json()["field"] == "id_tail"
    limited = phone.post("/api/v1/bindings", {"account_no": "3301000001", "id_tail": TAIL})
    assert limited.status_code == 429 and limited.get_json()["code"] == "rate_limited"
    assert phone.call("PATCH", "/api/v1/bindings/3301000001", json={"label": "x" * 21}).status_code == 404
    assert phone.get("/api/v1/accounts").get_json()["items"] == []


def _bound(app, county) -> object:
    phone = api(app, ME)
    assert phone.post("/api/v1/bindings", {"account_no": "3301000001", "meter_no": county}).status_code == 201
    return phone


def test_usage_by_day_month_and_year_from_the_reads(engine, app, county):
    phone = _bound(app, county)
    daily = phone.get("/api/v1/accounts/3301000001/usage/daily?days=30").get_json()
    assert daily["granularity"] == "day" and daily["tou"] and len(daily["periods"]) == 29
    assert {(p["wh"], p["peak_wh"], p["valley_wh"], p["sharp_wh"]) for p in daily["periods"]} == {
        (DAILY, PEAK, VALLEY, None)}
    monthly = phone.get("/api/v1/accounts/3301000001/usage/monthly").get_json()
    october = next(p for p in monthly["periods"] if p["label"] == "2026-10")
    assert october["wh"] == 31 * DAILY and october["last_year_wh"] == 31 * DAILY
    yearly = phone.get("/api/v1/accounts/3301000001/usage/yearly?years=2").get_json()
    assert [p["label"] for p in yearly["periods"]] == ["2025", "2026"]
    assert yearly["total_wh"] == (DAYS - 1) * DAILY
    for query, field in (("daily?days=31", "days"), ("monthly?months=0", "months"), ("yearly?years=x", "years")):
        answer = phone.get(f"/api/v1/accounts/3301000001/usage/{query}")
        assert answer.status_code == 400 and answer.get_json()["field"] == field


def test_the_summary_and_the_home(engine, app, county):
    phone = _bound(app, county)
    found = phone.get("/api/v1/accounts/3301000001/summary").get_json()
    # as tests/services/test_resident_usage.py works it out by hand: 5.06 元 a day, 100 元 lasts 19 days
    assert (found["balance_fen"], found["state"], found["daily_cost_fen"], found["days_left"]) == (
        10_000, "in_credit", 506, 19)
    assert found["tiers"]["tier"] == 2 and found["forecast"]["amount_fen"] == 15_180
    assert found["last_payment"]["amount_fen"] == 10_000 and found["holder_name_masked"] == "李*荣"
    assert phone.get("/api/v1/home").get_json() == {"items": [found]}


def test_reminder_settings_change_by_field(engine, app, county):
    phone = api(app, ME)
    before = phone.get("/api/v1/reminders").get_json()
    after = phone.call("PUT", "/api/v1/reminders", json={"wechat": False, "quiet_from_hour": 21,
                                                          "quiet_until_hour": 7}).get_json()
    assert after == before | {"wechat": False, "quiet_from_hour": 21, "quiet_until_hour": 7}
    bad = phone.call("PUT", "/api/v1/reminders", json={"quiet_from_hour": 24})
    assert bad.status_code == 400 and bad.get_json()["field"] == "quiet_from_hour"
    assert phone.get("/api/v1/reminders").get_json() == after


def test_binding_twice_or_past_the_maximum_is_refused_with_a_status(engine, app, county):
    phone = _bound(app, county)
    again = phone.post("/api/v1/bindings", {"account_no": "3301000001", "id_tail": TAIL})
    assert again.status_code == 400 and again.get_json()["code"] == "binding_exists"
    app.extensions["dianfei"].settings = replace(app.extensions["dianfei"].settings, MAX_BINDINGS=1)
    family = api(app, FAMILY)
    assert family.post("/api/v1/bindings", {"account_no": "3301000001", "id_tail": TAIL}).status_code == 201
    with unit_of_work(engine) as db:
        second = factories.account(db, at=OPENED, account_no="3301000009")
        meter_no = db.get(Meter, second.meter_id).meter_no
    more = family.post("/api/v1/bindings", {"account_no": "3301000009", "meter_no": meter_no})
    assert more.status_code == 403 and more.get_json()["code"] == "binding_limit"
