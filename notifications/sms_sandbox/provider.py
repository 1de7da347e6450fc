"""The simulated Tencent Cloud SMS endpoint: SendSms and PullSmsSendStatus, with faults on demand.

It checks what the real endpoint checks (TC3 signature, SdkAppId, an approved sign and template, the
template's parameter count, 1 to 200 numbers in E.164 ``+86...``) and answers in Tencent's shape:
``{"Response": {..., "RequestId": ...}}`` with HTTP 200, a refusal of the whole request as
``{"Response": {"Error": {"Code", "Message"}, ...}}`` and a refusal of one number as its entry in
``SendStatusSet``.  Every accepted number queues a delivery report for ``PullSmsSendStatus``.

Faults, switched on by tests and the demo: a number refused with a code (``refuse``: throttled,
invalid, per-number daily cap), the app's daily cap (``daily_cap``), a template withdrawn
(``unapprove``), a report that says not delivered (``undeliverable``) and an outage (``outage``:
an ``InternalError`` answer, HTTP 502, or a body that is not JSON).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping

from werkzeug.wrappers import Request, Response

from notifications.channels.sms_protocol import MAX_NUMBERS, MAX_PULL, e164
from notifications.sms_sandbox import tc3

VERSION, SERVICE = "2021-01-11", "sms"
THROTTLED = "LimitExceeded.PhoneNumberThirtySecondLimit"
NUMBER_DAILY_CAP = "LimitExceeded.PhoneNumberDailyLimit"
APP_DAILY_CAP = "LimitExceeded.AppDailyLimit"
INVALID_NUMBER = "InvalidParameterValue.IncorrectPhoneNumber"
TEMPLATE_UNAPPROVED = "FailedOperation.TemplateIncorrectOrUnapproved"
OUTAGES = ("internal_error", "http_502", "not_json")
_MAINLAND = re.compile(r"\+861[3-9]\d{9}")
JSON = "application/json"


class Refusal(Exception):
    """The whole request refused, answered as ``Response.Error``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code, self.message = code, message


class TencentSmsSandbox:
    def __init__(self, *, secret_id: str, secret_key: str, app_id: str, sign_name: str,
                 templates: Mapping[str, int], now: Callable[[], float] = time.time) -> None:
        """``templates``: each approved template id and how many parameters it takes."""
        self.app_id, self.sign_name, self.now = app_id, sign_name, now
        self.secrets = {secret_id: secret_key}
        self.templates = dict(templates)
        self.refused: dict[str, str] = {}  # +86 number -> the code it is refused with
        self.undeliverable: dict[str, str] = {}  # +86 number -> the report's description
        self.unapproved: set[str] = set()
        self.daily_cap: int | None = None
        self.outage: str | None = None
        self.sent: list[dict] = []  # one entry per accepted number: what the handset would show
        self.requests = 0
        self.on_accept: Callable[[dict], None] | None = None  # the demo prints what a handset would get
        self._reports: deque[dict] = deque()
        self._serial = 0
        self._lock = threading.Lock()

    def refuse(self, phone: str, code: str) -> None:
        self.refused[e164(phone)] = code

    def unapprove(self, template_id: str) -> None:
        self.unapproved.add(template_id)

    def undeliver(self, phone: str, description: str = "MK:0005") -> None:
        self.undeliverable[e164(phone)] = description

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path == "/sandbox/stats":
            return Response(json.dumps({"requests": self.requests, "sent": len(self.sent)}),
                            content_type=JSON)(environ, start_response)
        return self._api(request)(environ, start_response)

    def _api(self, request: Request) -> Response:
        with self._lock:
            self.requests += 1
        request_id = str(uuid.uuid4())
        if self.outage == "http_502":
            return Response("<html><body>502 Bad Gateway</body></html>", status=502, content_type="text/html")
        if self.outage == "not_json":
            return Response("<html><body>upstream busy</body></html>", content_type=JSON)
        try:
            body = request.get_data()
            self._authenticate(request, body)
            if self.outage == "internal_error":
                raise Refusal("InternalError", "An internal error has occurred. Retry your request.")
            answer = self._action(request.headers.get("X-TC-Action", ""), _json_body(body))
        except Refusal as refusal:
            answer = {"Error": {"Code": refusal.code, "Message": refusal.message}}
        return Response(json.dumps({"Response": {**answer, "RequestId": request_id}}, ensure_ascii=False),
                        content_type=JSON)

    def _authenticate(self, request: Request, body: bytes) -> None:
        refused = tc3.check(request.method, request.path, request.query_string.decode(), request.headers, body,
                            secrets=self.secrets, service=SERVICE, now=int(self.now()))
        if refused:
            raise Refusal(refused.code, refused.message)
        if request.headers.get("X-TC-Version") != VERSION:
            raise Refusal("InvalidParameter", f"This simulator speaks API version {VERSION}.")

    def _action(self, action: str, params: dict) -> dict:
        if params.get("SmsSdkAppId") != self.app_id:
            raise Refusal("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId verify fail.")
        if action == "SendSms":
            return self._send(params)
        if action == "PullSmsSendStatus":
            return self._pull(params)
        raise Refusal("InvalidAction", f"The action {action} is not supported here.")

    def _send(self, params: dict) -> dict:
        self._check_content(params)
        numbers = params.get("PhoneNumberSet") or []
        if not 1 <= len(numbers) <= MAX_NUMBERS:
            raise Refusal("LimitExceeded.PhoneNumberCountLimit", f"1 to {MAX_NUMBERS} numbers per request.")
        with self._lock:
            statuses = [self._one(number, params) for number in numbers]
        return {"SendStatusSet": statuses}

    def _check_content(self, params: dict) -> None:
        if params.get("SignName") != self.sign_name:
            raise Refusal("FailedOperation.SignatureIncorrectOrUnapproved", "The sign is not approved.")
        template_id = params.get("TemplateId")
        if template_id not in self.templates or template_id in self.unapproved:
            raise Refusal(TEMPLATE_UNAPPROVED, "The template is not approved or does not exist.")
        values = params.get("TemplateParamSet") or []
        if len(values) != self.templates[template_id] or not all(isinstance(value, str) for value in values):
            raise Refusal("FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
                          "The template parameters do not match the approved template.")

    def _one(self, number: str, params: dict) -> dict:
        """One number's status (called under the lock: the daily cap and serial numbers are shared)."""
        status = {"PhoneNumber": number, "SessionContext": params.get("SessionContext", ""), "IsoCode": "CN"}
        code = self._refusal(number)
        if code:
            return status | {"SerialNo": "", "Fee": 0, "Code": code, "Message": code.rsplit(".", 1)[-1]}
        self._serial += 1
        serial = f"2433:{self._serial:020d}"
        self.sent.append({"number": number, "template": params["TemplateId"], "params": params["TemplateParamSet"],
                          "serial": serial})
        if self.on_accept:
            self.on_accept(self.sent[-1])
        self._reports.append(self._report(number, serial, params.get("SessionContext", "")))
        return status | {"SerialNo": serial, "Fee": 1, "Code": "Ok", "Message": "send success"}

    def _refusal(self, number: str) -> str | None:
        if not isinstance(number, str) or not _MAINLAND.fullmatch(number):
            return INVALID_NUMBER
        if number in self.refused:
            return self.refused[number]
        if self.daily_cap is not None and len(self.sent) >= self.daily_cap:
            return APP_DAILY_CAP
        return None

    def _report(self, number: str, serial: str, context: str) -> dict:
        failed = self.undeliverable.get(number)
        return {"UserReceiveTime": int(self.now()), "CountryCode": "86", "SubscriberNumber": number[3:],
                "PhoneNumber": number, "SerialNo": serial, "ReportStatus": "FAIL" if failed else "SUCCESS",
                "Description": failed or "DELIVRD", "SessionContext": context}

    def _pull(self, params: dict) -> dict:
        limit = params.get("Limit")
        if not isinstance(limit, int) or not 1 <= limit <= MAX_PULL:
            raise Refusal("InvalidParameterValue.LimitVerifyFail", f"Limit must be 1 to {MAX_PULL}.")
        with self._lock:
            reports = [self._reports.popleft() for _ in range(min(limit, len(self._reports)))]
        return {"PullSmsSendStatusSet": reports}


def _json_body(body: bytes) -> dict:
    try:
        params = json.loads(body)
    except ValueError:
        raise Refusal("FailedOperation.JsonParseFail", "The request body is not JSON.") from None
    if not isinstance(params, dict):
        raise Refusal("FailedOperation.JsonParseFail", "The request body is not a JSON object.")
    return params
