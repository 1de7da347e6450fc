"""schemathesis against the API inside the suite, through the Flask app's WSGI interface (no
network but the loopback sandbox of WeChat Pay): every operation of the OpenAPI document, with
data generated from its schemas and with the path aimed at the demo resident's own 户号, bill and
order and at another resident's.  Never a 5xx, every answer matches the document, and nothing of
the other resident comes back.  Derandomized and bounded (``API_EXAMPLES`` per operation and aim)."""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from billing import logins
from billing.db import unit_of_work
from tests.wechat_helpers import served_wechat, wechat_login  # noqa: F401  (the `wechat` fixture)
from tests.web import api_world
from tests.web.api_world import HOME, MINE, NEIGHBOUR, OWING

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
EXAMPLES = int(os.environ.get("API_EXAMPLES", "6"))


def _aims(world) -> dict[str, list[dict]]:
    """Path parameters to aim at, beside the generated ones: mine, and theirs."""
    accounts = [{"account_no": number} for number in (HOME, OWING, NEIGHBOUR)]
    return {
        "account_no": accounts,
        "bill_id": [{"account_no": OWING, "bill_id": world.my_bills[0]},
                    *({"account_no": number, "bill_id": bill} for number in (OWING, NEIGHBOUR)
                      for bill in world.their_bills)],
        "receipt_id": [{"account_no": HOME, "receipt_id": receipt} for receipt in world.my_receipts
                                                                                + world.their_receipts],
        "out_trade_no": [{"out_trade_no": number} for number in world.my_orders + world.their_orders],
    }


def _theirs(world):
    """A check: no 户号, order, bill, name or phone of the other resident in any answer."""
    forbidden = {NEIGHBOUR, api_world.THEIRS, "赵小兰", "赵*兰", *world.their_orders}

    def nothing_of_theirs(ctx, response, case):
        text = response.text or ""
        leaked = [value for value in forbidden if value in text]
        assert not leaked, f"{case.method} {case.formatted_path} answered {leaked}"
        wrong = _owned(world, case.formatted_path, response.status_code, text)
        assert not wrong, f"{case.method} {case.formatted_path} answered {wrong}"

    return nothing_of_theirs


def _walk(value):
    """Every dict in a JSON value."""
    if isinstance(value, dict):
        yield value
        value = list(value.values())
    for inner in value if isinstance(value, list) else ():
        yield from _walk(inner)


def _owned(world, path: str, status: int, text: str) -> list[str]:
    """What an answer holds that is not the caller's: a 户号, a receipt, a bill (by its id)."""
    body = json.loads(text) if status < 300 and text and not path.endswith("/openapi.json") else {}
    wrong = []
    for found in _walk(body):
        if found.get("account_no", HOME) not in (HOME, OWING):
            wrong.append(found["account_no"])
        if found.get("receipt_id", world.my_receipts[0]) not in world.my_receipts:
            wrong.append(found["receipt_id"])
        if "/bills" in path and "total_fen" in found and found["id"] not in world.my_bills:
            wrong.append(found["id"])
    return wrong


def _aim(operation, aims: dict[str, list[dict]]) -> list[dict | None]:
    names = {parameter.name for parameter in operation.path_parameters}
    for name in ("bill_id", "receipt_id", "out_trade_no", "account_no"):
        if name in names:
            return [None, *aims[name]]
    return [None]


def test_no_5xx_every_answer_as_documented_and_nothing_of_theirs(engine, clock, app, gateways, wechat_sandbox,
                                                                  wechat):
    app.extensions["dianfei"].wechat = wechat_login(wechat)  # the local WeChat for wx.login()'s codes
    world = api_world.build(engine, clock, gateways, wechat_sandbox)
    me = api_world.resident_id(engine, MINE)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
              _theirs(world)]
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for aimed in _aim(operation, _aims(world)):
            @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(path_parameters=aimed) if aimed else operation.as_strategy())
            def call(case) -> None:
                nonlocal calls
                with unit_of_work(engine) as db:  # a token per call: logout ends one, limits count per token
                    token = logins.start(db, logins.API, me, now=clock())
                response = case.call(headers={"Authorization": f"Bearer {token}"})
                case.validate_response(response, checks=checks)
                calls += 1

            call()
    assert calls > 100
