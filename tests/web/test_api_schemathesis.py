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
        "out_trade_no": [{"out_trade_no": number} for number in world.my_orders + world.their_orders],
    }


def _theirs(world):
    """A check: no 户号, order, bill, name or phone of the other resident in any answer."""
    forbidden = {NEIGHBOUR, api_world.THEIRS, "赵小兰", "赵*兰", *world.their_orders}

    def nothing_of_theirs(ctx, response, case):
        text = response.text or ""
        leaked = [value for value in forbidden if value in text]
        assert not leaked, f"{case.method} {case.formatted_path} answered {leaked}"
        bills = _bills(case.formatted_path, response.status_code, text)
        assert {bill["id"] for bill in bills} <= set(world.my_bills), bills

    return nothing_of_theirs


def _bills(path: str, status: int, text: str) -> list[dict]:
    """The bills in an answer about bills."""
    if "/bills" not in path or status != 200:
        return []
    body = json.loads(text)
    return body["items"] if "items" in body else [body]


def _aim(operation, aims: dict[str, list[dict]]) -> list[dict | None]:
    names = {parameter.name for parameter in operation.path_parameters}
    for name in ("bill_id", "out_trade_no", "account_no"):
        if name in names:
            return [None, *aims[name]]
    return [None]


def test_no_5xx_every_answer_as_documented_and_nothing_of_theirs(engine, clock, app, gateways, wechat_sandbox):
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
