"""The OpenAPI 3.1 document of ``/api/v1``, written as data and served at ``/api/v1/openapi.json``.
tests/web/test_api_openapi.py keeps it true: every route is in it and every path in it is a route,
and the answers of the tests (and of a schemathesis run) match these schemas."""

from __future__ import annotations

from flask import jsonify

from portal.api import blueprint
from portal.api.paging import MAX_LIMIT


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(kind: str, **more) -> dict:
    return {"type": [kind, "null"], **more}


def obj(required: dict[str, dict], optional: dict[str, dict] | None = None) -> dict:
    return {"type": "object", "required": sorted(required), "properties": required | (optional or {})}


STRING, INTEGER, BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
DAY, MOMENT = {"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}
FEN = {"type": "integer", "description": "money in fen (1 元 = 100)"}


def page_of(item: str) -> dict:
    return obj({"items": {"type": "array", "items": ref(item)}, "next_cursor": nullable("string")})


SCHEMAS = {
    "Error": obj({"code": STRING, "message": STRING}, {"field": STRING}),
    "CodeSent": obj({"phone_masked": STRING, "sent": BOOLEAN,
                     "demo_code": nullable("string", description="the code, in the demo only")}),
    "Token": obj({"token": STRING, "token_type": {"type": "string", "enum": ["Bearer"]}, "expires_at": MOMENT}),
    "Account": obj({
        "account_no": STRING, "label": STRING, "holder_name_masked": STRING, "category": STRING,
        "regime": {"type": "string", "enum": ["prepaid", "postpaid"]}, "status": STRING, "balance_fen": FEN,
        "overdue_days": INTEGER, "due_date": nullable("string", format="date"), "standing_text": STRING}),
    "AccountPage": page_of("Account"),
    "Bill": obj({
        "id": INTEGER, "number": STRING, "period_start": DAY, "period_end": DAY,
        "issue_date": nullable("string", format="date"), "due_date": DAY,
        "state": {"type": "string", "enum": ["paid", "part_paid", "unpaid", "overdue", "cancelled"]},
        "total_fen": FEN, "paid_fen": FEN, "owed_fen": FEN, "overdue_days": INTEGER}),
    "BillPage": page_of("Bill"),
    "BillDetail": {"allOf": [ref("Bill"), obj({
        "holder_name_masked": STRING,
        "lines": {"type": "array", "items": obj({
            "kind": STRING, "name": STRING, "amount_fen": FEN, "wh": nullable("integer"),
            "price_millifen_per_kwh": nullable("integer"), "note": STRING})},
        "reads": {"type": "array", "items": obj({"on": DAY, "meter_no": STRING, "register_wh": INTEGER,
                                                 "source": STRING})},
        "tiers": {"oneOf": [{"type": "null"}, obj({
            "used_wh": INTEGER, "tier": INTEGER, "left_in_tier_wh": nullable("integer"), "yearly": BOOLEAN,
            "thresholds_wh": {"type": "array", "items": INTEGER}})]},
        "forecast": {"oneOf": [{"type": "null"}, obj({"start": DAY, "end": DAY, "wh": INTEGER,
                                                      "amount_fen": FEN})]},
    })]},
    "Refund": obj({"refund_no": STRING, "amount_fen": FEN, "state": STRING, "reason": STRING,
                   "requested_at": MOMENT, "confirmed_at": nullable("string", format="date-time")}),
    "Payment": obj({
        "out_trade_no": STRING, "channel": STRING, "purpose": STRING, "amount_fen": FEN,
        "balance_after_fen": nullable("integer"), "paid_at": nullable("string", format="date-time"),
        "refunds": {"type": "array", "items": ref("Refund")}}),
    "PaymentPage": page_of("Payment"),
    "Order": obj({
        "out_trade_no": STRING, "channel": STRING, "purpose": STRING,
        "state": {"type": "string", "enum": ["created", "paying", "paid", "closed", "failed"]},
        "progress": {"type": "string", "enum": ["paid", "waiting", "expired", "closed"]},
        "amount_fen": FEN, "created_at": MOMENT, "paid_at": nullable("string", format="date-time"),
        "expires_at": MOMENT,
        "lines": {"type": "array", "items": obj({"account_no": STRING, "amount_fen": FEN,
                                                 "balance_after_fen": nullable("integer")})}}),
    "OrderStarted": obj({"order": ref("Order"), "checkout": obj({
        "kind": {"type": "string", "enum": ["jsapi", "redirect", "qr"]}, "url": nullable("string"),
        "params": {"type": "object", "additionalProperties": STRING,
                   "description": "wx.requestPayment's appId, timeStamp, nonceStr, package, signType, paySign"}})}),
}

ACCOUNT_NO = {"name": "account_no", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 40},
              "example": "3301000001", "description": "户号 (10 digits), one of the caller's bound 户号"}
BILL_ID = {"name": "bill_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
ORDER_NO = {"name": "out_trade_no", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
PAGING = [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
          {"name": "cursor", "in": "query", "schema": STRING, "description": "next_cursor of the page before"}]
LANG = {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["zh", "en"]}}


def json_answer(schema: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


def body(required: dict[str, dict], optional: dict[str, dict] | None = None) -> dict:
    return {"required": True, "content": {"application/json": {"schema": obj(required, optional)}}}


def operation(summary: str, status: int, schema: str | None, *, params=(), request=None, public=False) -> dict:
    """One operation; every other status answers an Error (401, 404, 405, 413, 415, 429 ...)."""
    ok = json_answer(schema, summary) if schema else {"description": summary}
    found = {"summary": summary, "parameters": [*params, LANG],
             "responses": {str(status): ok, "default": json_answer("Error", "an error: code and message")}}
    if request:
        found["requestBody"] = request
    if public:
        found["security"] = []
    return found


PATHS = {
    "/api/v1/openapi.json": {"get": operation("this document", 200, None, public=True)},
    "/api/v1/login/code": {"post": operation("send a login code by SMS", 202, "CodeSent", public=True,
                                             request=body({"phone": STRING}))},
    "/api/v1/login": {"post": operation("log in with phone and code: a bearer token", 201, "Token", public=True,
                                        request=body({"phone": STRING, "code": STRING}))},
    "/api/v1/logout": {"post": operation("end this token's login", 204, None)},
    "/api/v1/accounts": {"get": operation("the caller's bound 户号", 200, "AccountPage", params=PAGING)},
    "/api/v1/accounts/{account_no}": {"get": operation("one bound 户号", 200, "Account", params=[ACCOUNT_NO])},
    "/api/v1/accounts/{account_no}/bills": {
        "get": operation("the 户号's bills, newest first", 200, "BillPage", params=[ACCOUNT_NO, *PAGING])},
    "/api/v1/accounts/{account_no}/bills/{bill_id}": {
        "get": operation("one bill explained", 200, "BillDetail", params=[ACCOUNT_NO, BILL_ID])},
    "/api/v1/accounts/{account_no}/payments": {
        "get": operation("payments into the 户号 with their refunds, newest first", 200, "PaymentPage",
                         params=[ACCOUNT_NO, *PAGING])},
    "/api/v1/accounts/{account_no}/orders": {
        "post": operation("start a payment (WeChat Pay in the mini-program)", 201, "OrderStarted",
                          params=[ACCOUNT_NO], request=body(
                              {"what": {"type": "string", "enum": ["prepay", "arrears"]}},
                              {"amount_fen": {**FEN, "description": "prepay: the amount in fen"},
                               "channel": {"type": "string", "enum": ["wechat"]},
                               "shown_arrears_fen": {**FEN, "description": "arrears: the figure shown"}}))},
    "/api/v1/orders/{out_trade_no}": {"get": operation("an order and its receipt lines", 200, "Order",
                                                       params=[ORDER_NO])},
    "/api/v1/orders/{out_trade_no}/check": {
        "post": operation("ask the channel how the order stands", 200, "Order", params=[ORDER_NO])},
}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "dianfei mini-program API", "version": "1.0.0",
             "description": "Residents' 户号, bills, payments and orders. Money in integer fen, energy in Wh. "
                            "Errors are {code, message[, field]}; messages in Chinese unless ?lang=en or "
                            "Accept-Language: en."},
    "servers": [{"url": "/"}],
    "security": [{"bearer": []}],
    "paths": PATHS,
    "components": {"schemas": SCHEMAS,
                   "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
}


@blueprint.get("/openapi.json")
def openapi():
    return jsonify(DOCUMENT)
