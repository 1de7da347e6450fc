"""A local WeChat API (api.weixin.qq.com) for the calls the WeChat channels make, for tests and the demo.

It answers as WeChat does, HTTP 200 with ``{"errcode", "errmsg"}``: ``/cgi-bin/token`` checks the app
id and secret and hands out tokens that expire after ``expires_in`` seconds (42001 after that, 40001
for a token it never issued); ``/cgi-bin/message/template/send`` (official account) and
``/cgi-bin/message/subscribe/send`` (mini-program) answer ``msgid``.  Faults, switched on by tests:
``expire_tokens`` (the next call with a held token gets 42001), openids that ``refusing`` (43101) or
``invalid`` (40003), ``rate_limited`` (45009) and an ``outage`` (HTTP 500, or a page that is not JSON).
Every send call is kept in ``received`` with the errcode it got; token fetches are counted per app.
``job_finish_event`` writes the delivery report WeChat pushes to the official account's server.

It is WeChat, so it never imports the SDK.  Serve it with ``payments.sandbox.server.LoopbackServer``
(tests do; this package sits beside payments and imports nothing of it).  Unlike WeChat, fetching a
new token leaves the old one valid until it expires.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from werkzeug.wrappers import Request, Response

SENDS = {"/cgi-bin/message/template/send": "template", "/cgi-bin/message/subscribe/send": "subscribe"}
OUTAGES = ("http_500", "not_json")
ERRORS = {
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40013: "invalid appid",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    41001: "access_token missing",
    42001: "access_token expired",
    43101: "user refuse to accept the msg",
    45009: "reach max api daily quota limit",
    47001: "data format error",
    47003: "argument invalid! data.value invalid",
    40029: "invalid code",  # the login codes (portal.wechat.sandbox)
    40163: "code been used",
    40226: "invalid risky user",
}


def json_answer(body: dict) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), content_type="application/json; charset=utf-8")


def errcode_answer(errcode: int, **fields) -> Response:
    errmsg = "ok" if errcode == 0 else f"{ERRORS[errcode]} rid: {secrets.token_hex(6)}"
    return json_answer({"errcode": errcode, "errmsg": errmsg, **fields})


class WeChatApiSandbox:
    def __init__(self, apps: Mapping[str, str], *, template_ids: Iterable[str] | None = None, expires_in: int = 7200,
                 now: Callable[[], float] = time.time) -> None:
        """``apps``: app id -> secret; ``template_ids``: the templates the apps may send (any, when None)."""
        self.apps, self.expires_in, self.now = dict(apps), expires_in, now
        self.template_ids = None if template_ids is None else set(template_ids)
        self.refusing: set[str] = set()  # openids whose user declined: 43101
        self.invalid: set[str] = set()  # openids of no user of the app: 40003
        self.rate_limited = False  # every send: 45009
        self.outage: str | None = None  # one of OUTAGES, for every call
        self.token_fetches: Counter[str] = Counter()  # app id -> tokens handed out
        self.received: list[dict] = []  # every send: api, appid, the body as sent, errcode, msgid
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (app id, expires at)
        self._msgids = itertools.count(2_000_000_001)
        self._lock = threading.Lock()

    def expire_tokens(self) -> None:
        """Every token handed out so far expires now (as WeChat may, before ``expires_in``)."""
        with self._lock:
            self._tokens = {token: (appid, self.now()) for token, (appid, _) in self._tokens.items()}

    def job_finish_event(self, msgid: str, openid: str, status: str = "success") -> str:
        """The TEMPLATESENDJOBFINISH event WeChat pushes once a template message reached the user (or not)."""
        return ("<xml><ToUserName><![CDATA[gh_sandbox000000]]></ToUserName>"
                f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{int(self.now())}</CreateTime>"
                "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event>"
                f"<MsgID>{msgid}</MsgID><Status><![CDATA[{status}]]></Status></xml>")

    def __call__(self, environ, start_response):
        return self._route(Request(environ))(environ, start_response)

    def _route(self, request: Request) -> Response:
        if self.outage == "http_500":
            return Response("<html><h1>500 Internal Server Error</h1></html>", 500, content_type="text/html")
        if self.outage == "not_json":  # what a proxy in front of WeChat answers when WeChat is away
            return Response("<html><p>系统繁忙，请稍后再试</p></html>", 200, content_type="text/html")
        if request.path == "/cgi-bin/token":
            return self._token(request.args)
        if request.path in SENDS and request.method == "POST":
            return self._send(SENDS[request.path], request)
        return Response("not found", 404)

    def _token(self, args) -> Response:
        appid = args.get("appid", "")
        if args.get("grant_type") != "client_credential":
            return errcode_answer(40002)
        if appid not in self.apps:
            return errcode_answer(40013)
        if args.get("secret") != self.apps[appid]:
            return errcode_answer(40125)
        token = secrets.token_urlsafe(48)
        with self._lock:
            self._tokens[token] = (appid, self.now() + self.expires_in)
            self.token_fetches[appid] += 1
        return json_answer({"access_token": token, "expires_in": self.expires_in})  # WeChat adds no errcode here

    def _send(self, api: str, request: Request) -> Response:
        held = self._tokens.get(request.args.get("access_token", ""))
        if held is None:
            return errcode_answer(41001 if "access_token" not in request.args else 40001)
        appid, expires_at = held
        try:
            body = json.loads(request.get_data())
        except ValueError:
            return errcode_answer(47001)
        errcode = 42001 if self.now() >= expires_at else self._refusal(body)
        msgid = next(self._msgids) if errcode == 0 else None
        with self._lock:
            self.received.append({"api": api, "appid": appid, **body, "errcode": errcode, "msgid": msgid})
        return errcode_answer(errcode, msgid=msgid) if msgid else errcode_answer(errcode)

    def _refusal(self, body: dict) -> int:
        openid, data = body.get("touser"), body.get("data")
        if self.rate_limited:
            return 45009
        if openid in self.invalid or not openid:
            return 40003
        if openid in self.refusing:
            return 43101
        if self.template_ids is not None and body.get("template_id") not in self.template_ids:
            return 40037
        if not isinstance(data, dict) or not all(isinstance(field, dict) and isinstance(field.get("value"), str)
                                                 for field in data.values()):
            return 47003
        return 0
