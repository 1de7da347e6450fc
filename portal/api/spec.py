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
    "LinkNeeded": obj({"needs_phone": {"type": "boolean", "enum": [True]}, "link_ticket": STRING}),
    "CodeSent": obj({"phone_masked": STRING, "sent": BOOLEAN,
                     "demo_code": nullable("string", description="the code, in the demo only")}),
    "Token": obj({"token": STRING, "token_type": {"type": "string", "enum": ["Bearer"]}, "expires_at": MOMENT}),
    "Account": obj({
        "account_no": STRING, "label": STRING, "holder_name_masked": STRING, "category": STRING,
        "regime": {"type": "string", "enum": ["prepaid", "postpaid"]}, "status": STRING,
        "balance_low_fen": {**FEN, "description": "low-balance reminder threshold"}, "balance_fen": FEN,
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
    "Payment": obj({
        "receipt_id": INTEGER, "kind": {"type": "string", "enum": ["payment", "refund"]}, "amount_fen": FEN,
        "channel": STRING, "reference": {"type": "string", "description": "the order number, or a refund's reason"},
        "posted_at": MOMENT, "business_date": DAY, "balance_after_fen": FEN}),
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
    "BindingCandidate": obj({"account_no": STRING, "holder_name_masked": STRING, "category": STRING,
                             "regime": STRING, "bound_already": BOOLEAN}),
    "Usage": obj({
        "granularity": {"type": "string", "enum": ["day", "month", "year"]}, "total_wh": INTEGER, "tou": BOOLEAN,
        "periods": {"type": "array", "items": obj({
            "label": STRING, "start": DAY, "end": DAY, "wh": INTEGER, "sharp_wh": nullable("integer"),
            "peak_wh": nullable("integer"), "flat_wh": nullable("integer"), "valley_wh": nullable("integer"),
            "estimated": BOOLEAN, "last_year_wh": nullable("integer")})}}),
    "Summary": obj({
        "account_no": STRING, "label": STRING, "holder_name_masked": STRING, "regime": STRING, "balance_fen": FEN,
        "state": {"type": "string", "enum": ["in_credit", "due", "overdue", "owing"]},
        "due_date": nullable("string", format="date"), "overdue_days": INTEGER,
        "tiers": {"oneOf": [{"type": "null"}, obj({
            "period": STRING, "used_wh": INTEGER, "tier": INTEGER, "left_in_tier_wh": nullable("integer"),
            "thresholds_wh": {"type": "array", "items": INTEGER}})]},
        "forecast": {"oneOf": [{"type": "null"}, obj({
            "month": STRING, "measured_wh": INTEGER, "measured_through": nullable("string", format="date"),
            "wh": INTEGER, "amount_fen": nullable("integer")})]},
        "last_payment": {"oneOf": [{"type": "null"}, ref("Payment")]},
        "daily_use_wh": nullable("integer"), "daily_cost_fen": nullable("integer"), "days_left": nullable("integer"),
        "read_through": nullable("string", format="date")}),
    "SummaryList": obj({"items": {"type": "array", "items": ref("Summary")}}),
    "Reminders": obj({"sms": BOOLEAN, "wechat": BOOLEAN, "optional": BOOLEAN,
                      "quiet_from_hour": {"type": "integer", "minimum": 0, "maximum": 23},
                      "quiet_until_hour": {"type": "integer", "minimum": 0, "maximum": 23}}),
}

ACCOUNT_NO = {"name": "account_no", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 40},
              "example": "3301000001", "description": "户号 (10 digits), one of the caller's bound 户号"}
BILL_ID = {"name": "bill_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
RECEIPT_ID = {"name": "receipt_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
ORDER_NO = {"name": "out_trade_no", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
PAGING = [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
          {"name": "cursor", "in": "query", "schema": STRING, "description": "next_cursor of the page before"}]
PROOF = {"id_tail": {"type": "string", "description": "the holder's ID number's last four characters"},
         "meter_no": {"type": "string", "description": "or the meter number"}}
LANG = {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["zh", "en"]}}


def json_answer(schema: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


def body(required: dict[str, dict], optional: dict[str, dict] | None = None) -> dict:
    return {"required": True, "content": {"application/json": {"schema": obj(required, optional)}}}


def operation(summary: str, status: int, schema: str | None, *, params=(), request=None, public=False,
              also: dict[int, str] | None = None) -> dict:
    """One operation (``also``: other successful answers); every other status answers an Error (401,
    404, 405, 413, 415, 429 ...)."""
    ok = json_answer(schema, summary) if schema else {"description": summary}
    others = {str(code): json_answer(name, name) for code, name in (also or {}).items()}
    found = {"summary": summary, "parameters": [*params, LANG],
             "responses": {str(status): ok, **others, "default": json_answer("Error", "an error: code and message")}}
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
    "/api/v1/login/wechat": {"post": operation(
        "log in with wx.login()'s code: a token, or (200) a ticket to link this WeChat to a phone", 201, "Token",
        public=True, request=body({"code": STRING}), also={200: "LinkNeeded"})},
    "/api/v1/login/wechat/link": {"post": operation(
        "link the WeChat to a phone proved by its SMS code (from /login/code): a token", 201, "Token",
        public=True, request=body({"link_ticket": STRING, "phone": STRING, "code": STRING}))},
    "/api/v1/logout": {"post": operation("end this token's login", 204, None)},
    "/api/v1/accounts": {"get": operation("the caller's bound 户号", 200, "AccountPage", params=PAGING)},
    "/api/v1/accounts/{account_no}": {"get": operation("one bound 户号", 200, "Account", params=[ACCOUNT_NO])},
    "/api/v1/accounts/{account_no}/bills": {
        "get": operation("the 户号's bills, newest first", 200, "BillPage", params=[ACCOUNT_NO, *PAGING])},
    "/api/v1/accounts/{account_no}/bills/{bill_id}": {
        "get": operation("one bill explained", 200, "BillDetail", params=[ACCOUNT_NO, BILL_ID])},
    "/api/v1/accounts/{account_no}/payments": {
        "get": operation("payments into the 户号 and refunds out of it, newest first: each a receipt", 200, "PaymentPage",
                         params=[ACCOUNT_NO, *PAGING])},
    "/api/v1/accounts/{account_no}/payments/{receipt_id}": {
        "get": operation("one receipt: a payment or refund with the balance after it", 200, "Payment",
                         params=[ACCOUNT_NO, RECEIPT_ID])},
    **{f"/api/v1/accounts/{{account_no}}/usage/{name}": {"get": operation(
        f"use by {unit} from the reads, with the 尖峰平谷 split", 200, "Usage", params=[ACCOUNT_NO, {
            "name": count, "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": most}}])}
       for name, unit, count, most in (("daily", "day", "days", 90), ("monthly", "month", "months", 14),
                                       ("yearly", "year", "years", 5))},
    "/api/v1/accounts/{account_no}/summary": {"get": operation(
        "the 户号 at a glance: standing, tier progress, forecast, last payment, days left", 200, "Summary",
        params=[ACCOUNT_NO])},
    "/api/v1/home": {"get": operation("every bound 户号 at a glance", 200, "SummaryList")},
    "/api/v1/bindings/check": {"post": operation(
        "check a 户号 and its proof (ID number's last four, or meter number): the holder masked", 200,
        "BindingCandidate", request=body({"account_no": STRING}, PROOF))},
    "/api/v1/bindings": {"post": operation("bind a 户号 with its proof", 201, "Account",
                                           request=body({"account_no": STRING}, PROOF | {"label": STRING}))},
    "/api/v1/bindings/{account_no}": {
        "patch": operation("relabel, or set the low-balance reminder threshold", 200, "Account", params=[ACCOUNT_NO],
                           request=body({}, {"label": STRING, "balance_low_fen": FEN})),
        "delete": operation("unbind (family members bound to it keep theirs)", 204, None, params=[ACCOUNT_NO])},
    "/api/v1/reminders": {
        "get": operation("reminder settings", 200, "Reminders"),
        "put": operation("change reminder settings (fields left out keep their value)", 200, "Reminders",
                         request=body({}, {name: schema for name, schema in
                                           SCHEMAS["Reminders"]["properties"].items()}))},
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
