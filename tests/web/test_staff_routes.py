"""Every back-office route, route by route: the table below says which roles may use each endpoint
and method; every other role gets the Chinese 403 page, and nobody logged out gets past the login.

The test walks ``app.url_map``: a new staff route without a row here fails it, so a route cannot be
added without someone deciding who may use it.
"""

import pytest

from billing.db import unit_of_work
from billing.staff import ROLES
from tests import factories
from tests.conftest import csrf_token
from tests.staff_helpers import add_team, log_in

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)

ANY = frozenset(ROLES)
READER, REVIEWER, CASHIER, FINANCE, ADMIN = ROLES
PUBLIC = None  # login and logout: no role at all


def _roles(*roles: str) -> frozenset[str]:
    return frozenset(roles) | {ADMIN}


HISTORY = _roles(READER, REVIEWER, CASHIER, FINANCE)
CORRECT, BILL_PDF = _roles(REVIEWER), _roles(REVIEWER, CASHIER, FINANCE)
REVIEWING, METERS, READING = _roles(REVIEWER), _roles(READER), _roles(READER)
MONEY_DESK, FINANCE_ONLY = _roles(CASHIER, FINANCE), _roles(FINANCE)
REPORTS = _roles(REVIEWER, FINANCE)

ACCESS = {  # (endpoint, method): the roles that may use it
    ("staff.login", "GET"): PUBLIC, ("staff.login", "POST"): PUBLIC, ("staff.logout", "POST"): PUBLIC,
    ("staff.dashboard", "GET"): ANY,
    ("staff.read_photo", "GET"): _roles(READER, REVIEWER),
    ("staff.account_lookup", "GET"): HISTORY,
    ("staff.account_history", "GET"): HISTORY,
    ("staff.cancel_bill", "POST"): CORRECT,
    ("staff.rebill", "POST"): CORRECT,
    ("staff.bill_pdf", "GET"): BILL_PDF,
    ("staff.audit_page", "GET"): FINANCE_ONLY,
    ("staff.assessment_page", "GET"): REVIEWING, ("staff.assessment_csv", "GET"): REVIEWING,
    ("staff.line_loss_page", "GET"): REVIEWING,
    ("staff.review_queue_page", "GET"): REVIEWING, ("staff.review_item", "GET"): REVIEWING,
    ("staff.review_decide", "POST"): REVIEWING,
    ("staff.channel_report_page", "GET"): FINANCE_ONLY, ("staff.channel_report_csv", "GET"): FINANCE_ONLY,
    ("staff.channel_report_xlsx", "GET"): FINANCE_ONLY,
    ("staff.finance_page", "GET"): REPORTS, ("staff.finance_csv", "GET"): REPORTS, ("staff.finance_xlsx", "GET"): REPORTS,
    ("staff.collections_page", "GET"): MONEY_DESK, ("staff.plan_form", "GET"): MONEY_DESK,
    ("staff.agree_plan", "POST"): MONEY_DESK, ("staff.message_log", "GET"): MONEY_DESK,
    ("staff.supply_orders_page", "GET"): MONEY_DESK,
    ("staff.bad_debt_page", "GET"): MONEY_DESK, ("staff.mark_bad_debt", "POST"): MONEY_DESK,
    ("staff.request_bad_debt_write_off", "POST"): MONEY_DESK,
    ("staff.decide_bad_debt_write_off", "POST"): FINANCE_ONLY,
    ("staff.counter_form", "GET"): _roles(CASHIER), ("staff.counter_edit", "POST"): _roles(CASHIER),
    ("staff.counter_preview", "POST"): _roles(CASHIER), ("staff.take_payment", "POST"): _roles(CASHIER),
    ("staff.counter_account", "GET"): _roles(CASHIER), ("staff.receipt", "GET"): _roles(CASHIER),
    ("staff.close_day", "GET"): _roles(CASHIER), ("staff.close_day", "POST"): _roles(CASHIER),
    ("staff.find_meter", "GET"): METERS, ("staff.account_meter", "GET"): METERS,
    ("staff.record_meter_change", "POST"): METERS, ("staff.record_multiplier_change", "POST"): METERS,
    ("staff.reading_day", "GET"): READING, ("staff.reading_form", "GET"): READING,
    ("staff.reading_save", "POST"): READING,
    ("staff.reconciliation_queue", "GET"): FINANCE_ONLY, ("staff.difference_page", "GET"): FINANCE_ONLY,
    ("staff.heal_difference", "POST"): FINANCE_ONLY, ("staff.refund_difference", "POST"): FINANCE_ONLY,
    ("staff.note_difference", "POST"): FINANCE_ONLY, ("staff.request_write_off", "POST"): FINANCE_ONLY,
    ("staff.write_off_list", "GET"): FINANCE_ONLY, ("staff.decide_write_off", "POST"): FINANCE_ONLY,
    ("staff.incidents", "GET"): FINANCE_ONLY, ("staff.decide_incident", "POST"): FINANCE_ONLY,
    ("staff.refund_list", "GET"): MONEY_DESK, ("staff.request_refund", "POST"): MONEY_DESK,
    ("staff.decide_refund", "POST"): FINANCE_ONLY,
    ("staff.waiver_list", "GET"): MONEY_DESK, ("staff.waiver_form", "GET"): MONEY_DESK,
    ("staff.request_waiver", "POST"): MONEY_DESK, ("staff.decide_waiver", "POST"): FINANCE_ONLY,
}
ACCOUNT_NO = "3301000501"
SAMPLE = {"account_no": ACCOUNT_NO, "decision": "approve", "action": "accept", "refund_no": "RF0", "out_trade_no": "DF0"}


def staff_routes(app) -> list[tuple[str, str, str, bool]]:
    """(endpoint, method, url, made up) of every staff route, with sample values for its arguments
    (made up: an id or a number that names nothing, so the view may answer 404)."""
    found = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith("staff."):
                continue
            values = {name: SAMPLE.get(name, 1) for name in rule.arguments}
            for method in sorted(rule.methods & {"GET", "POST"}):
                found.append((rule.endpoint, method, url_for(rule.endpoint, **values), bool(rule.arguments - {"account_no"})))
    return found


def test_every_staff_route_has_a_row_in_the_table(app):
    routes = {(endpoint, method) for endpoint, method, *_ in staff_routes(app)}
    assert sorted(routes - set(ACCESS)) == [], "a staff route without a row in ACCESS: decide who may use it"
    assert sorted(set(ACCESS) - routes) == [], "a row in ACCESS for a route that is gone"


@pytest.fixture
def county(engine, clock):
    add_team(engine)
    with unit_of_work(engine) as db:
        factories.account(db, at=clock(), account_no=ACCOUNT_NO, holder_name="王小明")


def _call(client, method: str, url: str, token: str):
    return client.get(url) if method == "GET" else client.post(url, data={"csrf_token": token})


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_the_routes_the_table_gives_it(app, county, role):
    client = app.test_client()
    log_in(client, f"{role}1")
    token = csrf_token(client, "/staff/")
    for endpoint, method, url, made_up in staff_routes(app):
        allowed = ACCESS[(endpoint, method)]
        if allowed is PUBLIC:
            continue
        answer = _call(client, method, url, token)
        if role in allowed:
            # a page or a redirect; a form posted empty is refused by the view (400); a made-up id is not found
            expected = {200, 302} | ({400} if method == "POST" else set()) | ({404} if made_up else set())
            assert answer.status_code in expected, (role, endpoint, method, answer.status_code)
        else:
            assert answer.status_code == 403 and "没有权限" in answer.get_data(as_text=True), (role, endpoint, method, answer.status_code)


def test_nobody_logged_out_gets_past_the_login(app, county):
    client = app.test_client()
    token = csrf_token(client, "/staff/login")
    for endpoint, method, url, _made_up in staff_routes(app):
        if ACCESS[(endpoint, method)] is PUBLIC:
            continue
        answer = _call(client, method, url, token)
        assert answer.status_code == 302 and "/staff/login" in answer.headers["Location"], (endpoint, method)
