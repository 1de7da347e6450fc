"""A local WeChat for logging in: the official account's web OAuth and the mini-program's code2session.

It is the WeChat API simulator of the messages (``notifications.wechat_sandbox``) plus the login
endpoints, since WeChat serves both from one host; it also plays open.weixin.qq.com's authorize page.

- ``GET /connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope&state`` (what the WeChat
  browser opens): a page that plays WeChat's consent for a sandbox WeChat user (a name stands for the
  person, so the same name is the same openid), then redirects to ``redirect_uri?code=..&state=..``.
- ``GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code``: the web user's
  ``openid`` (with ``access_token``, ``refresh_token``, ``expires_in``, ``scope``).
- ``GET /sns/jscode2session?appid&secret&js_code&grant_type=authorization_code``: the mini-program
  user's ``openid``, ``session_key`` and ``unionid``; ``login_code`` stands in for ``wx.login()``.

As WeChat: a code is good for one use within 5 minutes, for the app it was issued to: 40029 for an
unknown, expired or other app's code, 40163 for a used one; 40013 bad appid, 40125 bad secret, 40002
bad grant_type, 40226 a user WeChat blocks as risky (``risky``).  Openids differ per app; the unionid
(same person, every app of the company) is the same.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from html import escape
from urllib.parse import urlencode, urlsplit

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from notifications.wechat_sandbox import WeChatApiSandbox, errcode_answer, json_answer

CODE_TTL_SECONDS = 300
SCOPES = ("snsapi_base", "snsapi_userinfo")
DEFAULT_USER = "sandbox-wechat-user"


def openid(appid: str, user: str) -> str:
    """The openid the app knows ``user`` by: 28 characters, as WeChat's."""
    return "o" + hashlib.sha256(f"{appid}:{user}".encode()).hexdigest()[:27]


def unionid(user: str) -> str:
    return "u" + hashlib.sha256(f"union:{user}".encode()).hexdigest()[:27]


class WeChatLoginSandbox(WeChatApiSandbox):
    def __init__(self, apps, **kwargs) -> None:
        super().__init__(apps, **kwargs)
        self.risky: set[str] = set()  # users WeChat refuses to log in: 40226
        self.exchanged: list[dict] = []  # every code exchange: api, appid, code, errcode
        self._codes: dict[str, dict] = {}  # code -> appid, user, expires_at, used
        self._login_lock = threading.Lock()

    def login_code(self, appid: str, user: str = DEFAULT_USER) -> str:
        """The code ``wx.login()`` hands the mini-program (or the authorize page the web) for ``user``."""
        code = secrets.token_urlsafe(24)
        with self._login_lock:
            self._codes[code] = {"appid": appid, "user": user, "expires_at": self.now() + CODE_TTL_SECONDS,
                                 "used": False}
        return code

    def _route(self, request: Request) -> Response:
        login = {"/connect/oauth2/authorize": self._authorize,
                 "/sns/oauth2/access_token": lambda r: self._exchange("oauth", r.args, "code"),
                 "/sns/jscode2session": lambda r: self._exchange("jscode2session", r.args, "js_code")}
        handler = login.get(request.path)
        return super()._route(request) if handler is None or self.outage else handler(request)

    def _authorize(self, request: Request) -> Response:
        args = request.values
        appid, target, scope = args.get("appid", ""), args.get("redirect_uri", ""), args.get("scope", "")
        if appid not in self.apps:
            return _page("参数错误", "appid 无效（40013）", 400)
        if urlsplit(target).scheme not in ("http", "https") or not urlsplit(target).netloc:
            return _page("redirect_uri 参数错误", "请检查回调地址（10003）", 400)
        if args.get("response_type") != "code" or scope not in SCOPES:
            return _page("scope 参数错误或没有 scope 权限", "（10005）", 400)
        if request.method == "POST":
            back = {"state": args.get("state", "")}
            if args.get("action") == "allow":
                back["code"] = self.login_code(appid, args.get("user") or DEFAULT_USER)
            return redirect(f"{target}{'&' if '?' in target else '?'}{urlencode(back)}", 302)
        return _consent(request.full_path.rstrip("?"), scope)

    def _exchange(self, api: str, args, code_name: str) -> Response:
        appid, code = args.get("appid", ""), args.get(code_name, "")
        errcode, held = self._checked(appid, args, code)
        with self._login_lock:
            self.exchanged.append({"api": api, "appid": appid, "code": code, "errcode": errcode})
        if errcode:
            return errcode_answer(errcode)
        user = held["user"]
        if api == "jscode2session":
            return json_answer({"openid": openid(appid, user), "session_key": secrets.token_urlsafe(18),
                          "unionid": unionid(user)})
        return json_answer({"access_token": secrets.token_urlsafe(48), "expires_in": 7200, "openid": openid(appid, user),
                      "refresh_token": secrets.token_urlsafe(48), "scope": "snsapi_base", "unionid": unionid(user)})

    def _checked(self, appid: str, args, code: str) -> tuple[int, dict | None]:
        if args.get("grant_type") != "authorization_code":
            return 40002, None
        if appid not in self.apps:
            return 40013, None
        if args.get("secret") != self.apps[appid]:
            return 40125, None
        with self._login_lock:
            held = self._codes.get(code)
            if held is None or held["appid"] != appid or self.now() >= held["expires_at"]:
                return 40029, None
            if held["used"]:
                return 40163, None
            held["used"] = True
        return (40226, None) if held["user"] in self.risky else (0, held)


def _page(title: str, text: str, status: int = 200, body: str = "") -> Response:
    html = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title>
<style>body{{margin:0;font:16px/1.5 -apple-system,"PingFang SC",sans-serif;background:#ededed;color:#191919}}
main{{max-width:480px;margin:0 auto;padding:32px 16px;text-align:center}} .muted{{color:#888;font-size:14px}}
input{{width:100%;box-sizing:border-box;padding:10px;font-size:16px;border:1px solid #ddd;border-radius:6px}}
button{{width:100%;margin-top:12px;padding:12px;font-size:17px;border:0;border-radius:6px}}
.allow{{background:#07c160;color:#fff}} .deny{{background:#f2f2f2;color:#191919}}</style></head>
<body><main><h1 style="font-size:20px">{escape(title)}</h1><p class="muted">{escape(text)}</p>{body}
<p class="muted">这是本地微信沙箱，不会访问真实微信。</p></main></body></html>"""
    return Response(html, status, content_type="text/html; charset=utf-8")


def _consent(action: str, scope: str) -> Response:
    asks = "获取你的公开信息（昵称、头像）" if scope == "snsapi_userinfo" else "获取你的身份标识（openid），用于登录"
    form = f"""<form method="post" action="{escape(action)}">
<label for="user" class="muted">微信用户（沙箱：换一个名字即另一位微信用户）</label>
<input type="text" id="user" name="user" value="{DEFAULT_USER}">
<button class="allow" type="submit" name="action" value="allow">允许</button>
<button class="deny" type="submit" name="action" value="deny">拒绝</button></form>"""
    return _page("县供电公司 申请", asks, body=form)
