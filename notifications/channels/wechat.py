"""WeChat reminders through ``wechatpy``: official-account template messages (``wechat_oa``) and
mini-program subscribe messages (``wechat_mp``), addressed by the resident's openid.

WeChat has no batch API: each message is one call, authorised by the app's access token.  The token
is fetched once and reused until it nears ``expires_in`` (wechatpy's session storage keeps it; pass a
shared one, e.g. wechatpy's Redis storage, when several workers send: each fetch invalidates the
token the others hold).  WeChat may still call a token stale (40001, 40014, 42001): the token is
fetched again and the call made once more, never in a loop.

What WeChat answers becomes an ``Outcome``, never an exception.  The resident declined (43101) or
the openid is not of this app (40003): failed for good.  Rate limited (45009), busy (-1), a 5xx, an
answer that is not JSON, no connection, a token we cannot get: failed, to be retried later.  The
``msgid`` of an accepted message is its provider reference.

A template message is ``sent`` when accepted; WeChat then pushes a TEMPLATESENDJOBFINISH event to the
official account's server, which ``template_report`` reads for ``dispatch.record_receipt``.  A
subscribe message is accepted only into the user's service notifications (WeChat checks the
subscription at send time) and has no routine report, so acceptance is delivery.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple
from xml.parsers.expat import ExpatError

import requests
from wechatpy import WeChatClient, parse_message
from wechatpy.events import TemplateSendJobFinishEvent
from wechatpy.exceptions import WeChatClientException

from notifications.channels.base import DELIVERED, SENT, Outcome, Outgoing

API_ROOT = "https://api.weixin.qq.com"
STALE_TOKEN = {40001, 40014, 42001}  # invalid credential, invalid token, token expired
NEVER_DELIVERABLE = {
    43101,  # the user refused (never subscribed, or used up the one-time subscription)
    40003,  # the openid is not a user of this app
    40037,  # the template id is not the app's: a configuration error, trying again sends nothing
    47003,  # WeChat refused a template field's value
}

# The template fields of each kind, in the order of the fields of the template registered for it on
# the WeChat platforms.  Official account (old-style templates): ``first`` carries our rendered
# sentence, then ``keyword1``..``keywordN`` these parameters.  Mini-program: each field is named by
# its WeChat type and position (``character_string1``, ``amount2``, ``date3``...), types from
# ``FIELD_TYPES``.  Login codes do not go by WeChat: WeChat forbids verification codes in both.
FIELDS: dict[str, tuple[str, ...]] = {
    "bill_issued": ("account_no", "period", "amount", "due_date"),
    "due_soon": ("account_no", "amount", "due_date"),
    "overdue": ("account_no", "amount", "due_date"),
    "late_fee_started": ("account_no", "number", "amount"),
    "balance_low": ("account_no", "balance", "threshold"),
    "balance_negative": ("account_no", "balance"),
    "disconnection_notice": ("account_no", "amount", "cut_date"),
    "pre_cut_notice": ("account_no", "cut_time", "amount"),
    "disconnected": ("account_no", "cut_time"),
    "reconnected": ("account_no", "restore_time"),
    "payment_received": ("account_no", "amount", "balance"),
    "refund_done": ("account_no", "amount"),
    "bulk_receipt": ("count", "amount", "receipt_no"),
}
FIELD_TYPES = {
    "account_no": "character_string", "period": "character_string", "number": "character_string",
    "receipt_no": "character_string", "count": "number", "amount": "amount", "balance": "amount",
    "threshold": "amount", "due_date": "date", "cut_date": "date", "cut_time": "time", "restore_time": "time",
}


class TemplateReport(NamedTuple):
    msgid: str
    delivered: bool
    status: str  # WeChat's words: "success", "failed:user block", "failed: system failed"


def template_report(xml: str | bytes) -> TemplateReport | None:
    """The delivery report in a message pushed to the official account's server, or None when the
    message is something else (or not a message at all)."""
    try:
        event = parse_message(xml)
    except (ExpatError, KeyError, AttributeError):
        return None
    if not isinstance(event, TemplateSendJobFinishEvent):
        return None
    return TemplateReport(str(event.id), event.status == "success", event.status)


def shown(param: str, value: str) -> str:
    """A parameter as the WeChat field shows it: money with its unit (WeChat's ``amount`` type wants it)."""
    return f"{value}元" if FIELD_TYPES.get(param) == "amount" else value


class TimeoutSession(requests.Session):
    """wechatpy fetches the token without a timeout: a hung WeChat must not hang the dispatcher."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def request(self, method, url, **kwargs):
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout
        return super().request(method, url, **kwargs)


class ApiClient(WeChatClient):
    """wechatpy's client against any API root (WeChat's or the simulator's), retrying nothing itself:
    its own retry on a stale token refetches and calls again without limit."""

    def __init__(self, appid: str, secret: str, *, api_root: str, timeout: float, session=None) -> None:
        super().__init__(appid, secret, session=session, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = f"{api_root}/cgi-bin/"
        self.wxa.API_BASE_URL = f"{api_root}/"
        self._http = TimeoutSession(timeout)

    def fetch_access_token(self):
        # wechatpy names api.weixin.qq.com here whatever the base URL: the token comes from the same root
        return self._fetch_access_token(url=f"{self.API_BASE_URL}token", params={
            "grant_type": "client_credential", "appid": self.appid, "secret": self.secret})


class _WeChatChannel:
    """One call per message; a subclass says how a message becomes the call's template data."""

    name: str
    batch_size = 20
    accepted = SENT

    def __init__(self, appid: str, secret: str, template_ids: Mapping[str, str], *, opens: str | None = None,
                 api_root: str = API_ROOT, timeout: float = 5.0, session=None) -> None:
        """``template_ids``: message kind -> the template id registered for it; ``opens``: what a tap on
        the message opens (a web link for the official account, a page for the mini-program)."""
        self.client = ApiClient(appid, secret, api_root=api_root, timeout=timeout, session=session)
        self.template_ids, self.opens = dict(template_ids), opens

    def send(self, batch: list[Outgoing]) -> list[Outcome]:
        return [self._send_one(message) for message in batch]

    def _send_one(self, message: Outgoing) -> Outcome:
        template_id = self.template_ids.get(message.kind)
        if template_id is None or message.kind not in FIELDS:
            return Outcome.failed(f"no WeChat template for {message.kind}", retry=False)
        try:
            answer = self._post_once_more_if_stale(message.address, template_id, self._data(message))
        except WeChatClientException as error:
            return _refused(error)
        except ValueError:  # the token's answer was not JSON (requests' JSON error is also a RequestException)
            return Outcome.failed("WeChat answer is not JSON", retry=True)
        except requests.RequestException as error:
            return Outcome.failed(f"WeChat unreachable: {type(error).__name__}", retry=True)
        if not isinstance(answer, dict):  # wechatpy hands back the raw response when it is not JSON
            return Outcome.failed("WeChat answer is not JSON", retry=True)
        return Outcome(self.accepted, provider_ref=str(answer.get("msgid", "")))

    def _post_once_more_if_stale(self, openid: str, template_id: str, data: dict) -> dict:
        try:
            return self._post(openid, template_id, data)
        except WeChatClientException as error:
            if error.errcode not in STALE_TOKEN:
                raise
        self.client.fetch_access_token()  # WeChat dropped our cached token early (expired, fetched elsewhere)
        return self._post(openid, template_id, data)

    def _data(self, message: Outgoing) -> dict:
        raise NotImplementedError

    def _post(self, openid: str, template_id: str, data: dict) -> dict:
        raise NotImplementedError


def _refused(error: WeChatClientException) -> Outcome:
    if error.errcode is None:  # an HTTP error status: WeChat's side is out
        status = getattr(error.response, "status_code", "error")
        return Outcome.failed(f"WeChat HTTP {status}", retry=True)
    return Outcome.failed(f"{error.errcode} {error.errmsg}"[:200], retry=error.errcode not in NEVER_DELIVERABLE)


class OfficialAccountChannel(_WeChatChannel):
    """Template messages of the official account (模板消息)."""

    name = "wechat_oa"

    def _data(self, message: Outgoing) -> dict:
        fields = {"first": {"value": message.text}}
        for position, param in enumerate(FIELDS[message.kind], start=1):
            fields[f"keyword{position}"] = {"value": shown(param, message.params[param])}
        return fields

    def _post(self, openid: str, template_id: str, data: dict) -> dict:
        return self.client.message.send_template(openid, template_id, data, url=self.opens)


class MiniProgramChannel(_WeChatChannel):
    """Subscribe messages of the mini-program (subscribeMessage.send)."""

    name = "wechat_mp"
    accepted = DELIVERED

    def _data(self, message: Outgoing) -> dict:
        return {f"{FIELD_TYPES[param]}{position}": {"value": shown(param, message.params[param])}
                for position, param in enumerate(FIELDS[message.kind], start=1)}

    def _post(self, openid: str, template_id: str, data: dict) -> dict:
        return self.client.wxa.send_subscribe_message(openid, template_id, data, page=self.opens)
