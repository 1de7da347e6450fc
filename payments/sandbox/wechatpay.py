"""A local WeChat Pay API v3 gateway that speaks the real wire protocol with real keys.

A merchant talks to it through ``wechatpayv3`` exactly as to api.mch.weixin.qq.com: requests are
verified against the merchant certificate, answers are signed (with the WeChat Pay public key when
the request names ``PUB_KEY_ID_...`` in ``Wechatpay-Serial``, else with the platform certificate),
notifications carry an AES-256-GCM encrypted resource and are retried on WeChat's schedule, and the
daily trade statement comes with its SHA1. It is the gateway, so it never imports the SDK; the
wire mechanics (verifying, signing, sealing) are in ``wechatpay_protocol``, and this module keeps
the orders, transactions and refunds and the routes. ``forge`` builds the hostile notifications a
merchant must refuse or flag.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import secrets
import threading
import time
from datetime import date, datetime, timedelta
from html import escape
from urllib.parse import parse_qs, urlencode, urlsplit

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from billing.clock import beijing_date, system_clock, to_beijing
from billing.money import format_yuan
from payments.sandbox.cashier import cashier_page
from payments.sandbox.delivery import Attempt, Delivery, Notifier, post
from payments.sandbox.keys import WeChatKeys
from payments.sandbox.server import Served
from payments.sandbox.wechatpay_protocol import (JSON, Keyring, Refusal, field_at, is_positive_fen, json_body,
                                                 refund_resource, refund_view, require, trade_view)
from payments.sandbox.wechatpay_jsapi import jsapi_page
from payments.sandbox.wechatpay_statement import trade_bill_csv

RETRY_SCHEDULE = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600)
REFUND_SECONDS = 0.5  # how long a refund stays PROCESSING with auto_refund, times retry_scale
MAX_REFUNDS = 50
REFUND_WINDOW = timedelta(days=365)
TXN_PREFIX, REFUND_PREFIX = "420000", "5030000"
FORGED_APPID = "wx0000000000000000"
FORGERIES = ("bad_signature", "signtest", "stale_timestamp", "unknown_serial", "wrong_key", "tampered_amount",
             "unknown_order", "wrong_appid", "wrong_mchid")
REFUND_SUMMARY = {"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}
OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")


def _openid(payer: str) -> str:
    """The same payer name is the same WeChat user, so repeated demo payments look consistent."""
    return "o" + hashlib.sha256(payer.encode()).hexdigest()[:27]


def _one_byte_changed(data: bytes) -> bytes:
    """Bump the last digit: still valid UTF-8 and CSV, but no longer the file that was hashed."""
    at = max(match.start() for match in re.finditer(rb"[0-9]", data))
    return data[:at] + str((data[at] - 48 + 1) % 10).encode() + data[at + 1:]


def _page(text: str, status: int = 200) -> Response:
    html = f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>微信支付</title><p>{escape(text)}</p></html>'
    return Response(html, status, content_type="text/html; charset=utf-8")


class WeChatPaySandbox(Served):
    def __init__(self, keys: WeChatKeys, *, mchid: str, appid: str, clock=system_clock, retry_scale: float = 1.0,
                 auto_notify: bool = True, auto_refund: bool = True, sign_notifications_with: str = "public_key",
                 merchant_name: str = "县供电公司") -> None:
        self.keys, self.mchid, self.appid, self.clock, self.retry_scale = keys, mchid, appid, clock, retry_scale
        self.auto_notify, self.auto_refund, self.merchant_name = auto_notify, auto_refund, merchant_name
        self.sign_notifications_with = sign_notifications_with
        self.url = "http://wechatpay.sandbox.invalid"  # replaced by serve()
        self.orders: dict[str, dict] = {}
        self.transactions: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.notifier = Notifier(RETRY_SCHEDULE, lambda attempt: 200 <= attempt.status < 300, retry_scale)
        self._lock = threading.RLock()
        self._jobs = threading.Condition()
        self._pending_jobs = 0
        self._tokens: dict[str, str] = {}  # cashier token or prepay_id -> out_trade_no
        self._bills: dict[str, tuple[bytes, bool]] = {}  # download token -> (csv, gzip?)
        self._corrupt_next = False
        self.certificate_downloads = 0  # how often merchants fetched /v3/certificates
        self._keyring = Keyring(keys)
        self._routes = Map([
            Rule("/v3/pay/transactions/<any(jsapi,native,h5,app):kind>", endpoint="create", methods=["POST"]),
            Rule("/v3/pay/transactions/out-trade-no/<out_trade_no>", endpoint="query_order", methods=["GET"]),
            Rule("/v3/pay/transactions/id/<transaction_id>", endpoint="query_transaction", methods=["GET"]),
            Rule("/v3/pay/transactions/out-trade-no/<out_trade_no>/close", endpoint="close", methods=["POST"]),
            Rule("/v3/refund/domestic/refunds", endpoint="refund", methods=["POST"]),
            Rule("/v3/refund/domestic/refunds/<out_refund_no>", endpoint="query_refund", methods=["GET"]),
            Rule("/v3/bill/tradebill", endpoint="trade_bill", methods=["GET"]),
            Rule("/v3/billdownload/file", endpoint="download_bill", methods=["GET"]),
            Rule("/v3/certificates", endpoint="certificates", methods=["GET"]),
            Rule("/sandbox/cashier/<token>", endpoint="page_cashier", methods=["GET", "POST"]),
            Rule("/sandbox/scan", endpoint="page_scan", methods=["GET"]),
            Rule("/sandbox/jsapi", endpoint="page_jsapi", methods=["GET"]),
        ])

    # --- serving -----------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            endpoint, args = self._routes.bind_to_environ(environ).match()
            if endpoint.startswith("page_"):
                response = getattr(self, f"_{endpoint}")(request, **args)
            else:
                response = self._api(request, getattr(self, f"_api_{endpoint}"), args)
        except HTTPException as error:
            body = {"code": "NOT_FOUND" if error.code == 404 else "INVALID_REQUEST", "message": error.description}
            response = Response(json.dumps(body), error.code, content_type=JSON)
        return response(environ, start_response)

    def _api(self, request: Request, handler, args: dict) -> Response:
        try:
            self._keyring.verify_request(request, self.mchid)
            with self._lock:
                result = handler(request, **args)
        except Refusal as refusal:
            result = refusal.status, {"code": refusal.code, "message": refusal.message}
        if isinstance(result, Response):
            return result
        status, payload = result
        return self._keyring.signed_answer(request, status, payload, self.clock)

    # --- controls for tests and the demo ------------------------------------------------------

    def register_order(self, out_trade_no: str, amount_fen: int, notify_url: str, *, description: str = "电费",
                       trade_type: str = "NATIVE") -> None:
        body = {"appid": self.appid, "mchid": self.mchid, "description": description, "out_trade_no": out_trade_no,
                "notify_url": notify_url, "amount": {"total": amount_fen, "currency": "CNY"}}
        if trade_type == "JSAPI":
            body["payer"] = {"openid": _openid("sandbox-buyer")}
        if trade_type == "H5":
            body["scene_info"] = {"payer_client_ip": "127.0.0.1", "h5_info": {"type": "Wap"}}
        with self._lock:
            self._create(trade_type, body)

    def pay(self, out_trade_no: str, *, payer: str | None = None, notify: bool | None = None) -> str:
        with self._lock:
            order = self.orders[out_trade_no]
            if order["trade_state"] == "CLOSED":
                raise ValueError(f"order {out_trade_no} is closed")
            transaction_id = self._new_id(TXN_PREFIX)
            self.transactions[transaction_id] = {
                **{k: order[k] for k in ("appid", "mchid", "out_trade_no", "trade_type", "description", "attach",
                                         "total")},
                "transaction_id": transaction_id, "openid": _openid(payer) if payer else order["openid"],
                "success_time": self.clock(), "trade_state": "SUCCESS",
            }
            order["transaction_ids"].append(transaction_id)
            if order["trade_state"] == "NOTPAY":
                order["trade_state"] = "SUCCESS"
            if self.auto_notify if notify is None else notify:
                self.notifier.send(self.notification(transaction_id))
        return transaction_id

    def clear_after_midnight(self, transaction_id: str, at: datetime) -> None:
        """The payment (made in the last seconds of a day) is listed on the statement of ``at``'s day."""
        with self._lock:
            self.transactions[transaction_id]["cleared_time"] = at

    def leave_off_statement(self, transaction_id: str) -> None:
        """A fault on the channel's side: its statements never list this payment (a 短款 to chase)."""
        with self._lock:
            self.transactions[transaction_id]["off_statement"] = True

    def cancel(self, out_trade_no: str) -> None:
        """The buyer leaves the cashier: WeChat records nothing, the order stays NOTPAY."""
        if out_trade_no not in self.orders:
            raise KeyError(out_trade_no)

    def notification(self, transaction_id: str, *, forge: str | None = None, sign_with: str | None = None) -> Delivery:
        with self._lock:
            txn = self.transactions[transaction_id]
            order = self.orders[txn["out_trade_no"]]
            resource = trade_view(order, txn) | {"trade_state": "SUCCESS", "trade_state_desc": "支付成功"}
        return self._event(order["notify_url"], "TRANSACTION.SUCCESS", "支付成功", "transaction", resource, forge,
                           sign_with)

    def refund_notification(self, out_refund_no: str, *, forge: str | None = None) -> Delivery:
        with self._lock:
            refund = self.refunds[out_refund_no]
            if refund["status"] not in REFUND_SUMMARY:
                raise ValueError(f"refund {out_refund_no} is {refund['status']}: nothing to notify yet")
            resource = refund_resource(refund)
        return self._event(refund["notify_url"], f"REFUND.{refund['status']}", REFUND_SUMMARY[refund["status"]],
                           "refund", resource, forge, None)

    def deliver(self, delivery: Delivery) -> Attempt:
        attempt = post(delivery)
        self.notifier.log.append((delivery, attempt))
        return attempt

    def complete_refund(self, out_refund_no: str, status: str = "SUCCESS", notify: bool | None = None) -> None:
        if status not in REFUND_SUMMARY:
            raise ValueError(f"a refund ends as SUCCESS, ABNORMAL or CLOSED, not {status}")
        with self._lock:
            refund = self.refunds[out_refund_no]
            if refund["status"] not in ("PROCESSING", "ABNORMAL"):
                raise ValueError(f"refund {out_refund_no} is already {refund['status']}")
            refund["status"] = status
            if status == "SUCCESS":
                refund["success_time"] = self.clock()
                self._mark_if_fully_refunded(self.transactions[refund["transaction_id"]])
            if self.auto_notify if notify is None else notify:
                self.notifier.send(self.refund_notification(out_refund_no))

    def rotate_platform_certificate(self) -> str:
        """WeChat rotates its platform certificate: notifications and answers are signed under the
        returned new serial, and ``/v3/certificates`` lists it beside the old one."""
        with self._lock:
            return self._keyring.rotate_certificate()

    def corrupt_next_download(self) -> None:
        with self._lock:
            self._corrupt_next = True

    def wait_idle(self, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        with self._jobs:
            if not self._jobs.wait_for(lambda: self._pending_jobs == 0, timeout):
                return False
        return self.notifier.wait_idle(max(0.0, deadline - time.monotonic()))

    # --- records ------------------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{beijing_date(self.clock()):%Y%m%d}{secrets.randbelow(10**14):014d}"

    def _mark_if_fully_refunded(self, txn: dict) -> None:
        refunded = sum(r["refund"] for r in self.refunds.values()
                       if r["transaction_id"] == txn["transaction_id"] and r["status"] == "SUCCESS")
        if refunded >= txn["total"]:
            txn["trade_state"] = "REFUND"
            order = self.orders[txn["out_trade_no"]]
            if order["transaction_ids"][0] == txn["transaction_id"]:
                order["trade_state"] = "REFUND"

    def _event(self, url: str, event_type: str, summary: str, original_type: str, resource: dict,
               forge: str | None, sign_with: str | None) -> Delivery:
        if forge not in (None, *FORGERIES):
            raise ValueError(f"unknown forgery {forge!r}")
        return self._keyring.signed_notification(url, event_type, summary, original_type, self._forged(resource, forge),
                                                  sign_with or self.sign_notifications_with, self.clock, forge)

    def _forged(self, resource: dict, forge: str | None) -> dict:
        """Forgeries a correct signature still covers: the merchant must check the content.
        ``resource`` is a view built for this notification, so it is changed in place."""
        if forge == "unknown_order":
            resource |= {"out_trade_no": f"SBX{secrets.token_hex(8).upper()}",
                         "transaction_id": self._new_id(TXN_PREFIX)}
            if "refund_id" in resource:
                resource |= {"out_refund_no": f"SBXR{secrets.token_hex(8).upper()}",
                             "refund_id": self._new_id(REFUND_PREFIX)}
        elif forge == "wrong_appid":
            if "appid" not in resource:
                raise ValueError("refund notifications carry no appid")
            resource["appid"] = FORGED_APPID
        elif forge == "wrong_mchid":
            resource["mchid"] = "1000000000" if self.mchid != "1000000000" else "2000000000"
        return resource

    def _later(self, delay: float, action, *args) -> None:
        """Run ``action`` on a background thread after ``delay`` seconds; wait_idle waits for it."""
        def run() -> None:
            try:
                time.sleep(delay)
                action(*args)
            finally:
                with self._jobs:
                    self._pending_jobs -= 1
                    self._jobs.notify_all()

        with self._jobs:
            self._pending_jobs += 1
        threading.Thread(target=run, daemon=True).start()

    def _finish_refund(self, out_refund_no: str) -> None:
        with self._lock:
            if self.refunds[out_refund_no]["status"] == "PROCESSING":
                self.complete_refund(out_refund_no)

    # --- API endpoints (called with the lock held) --------------------------------------------

    def _api_create(self, request: Request, kind: str):
        return 200, self._create(kind.upper(), json_body(request))

    def _create(self, trade_type: str, body: dict) -> dict:
        if body.get("appid") != self.appid or body.get("mchid") != self.mchid:
            raise Refusal(400, "APPID_MCHID_NOT_MATCH", "appid和mchid不匹配")
        out_trade_no = body.get("out_trade_no")
        require(isinstance(out_trade_no, str) and OUT_TRADE_NO.fullmatch(out_trade_no), "out_trade_no格式错误")
        require(body.get("description") and body.get("notify_url"), "缺少description或notify_url")
        require(is_positive_fen(field_at(body, "amount", "total")), "amount.total必须是正整数（分）")
        require(field_at(body, "amount", "currency") in (None, "CNY"), "currency只支持CNY")
        require(trade_type != "JSAPI" or field_at(body, "payer", "openid"), "JSAPI下单缺少payer.openid")
        require(trade_type != "H5" or (field_at(body, "scene_info", "payer_client_ip")
                                       and field_at(body, "scene_info", "h5_info", "type")), "H5下单缺少scene_info")
        order = self.orders.get(out_trade_no)
        if order is not None:
            return self._recreated(order, trade_type, body)
        token = secrets.token_urlsafe(12)
        prepay_id = f"wx{to_beijing(self.clock()):%d%H%M%S}{secrets.token_hex(14)}"
        answers = {"NATIVE": {"code_url": f"weixin://wxpay/bizpayurl?pr={token}"},
                   "H5": {"h5_url": f"{self.url}/sandbox/cashier/{token}"}}
        self.orders[out_trade_no] = {
            "appid": self.appid, "mchid": self.mchid, "out_trade_no": out_trade_no, "trade_type": trade_type,
            "description": body["description"], "notify_url": body["notify_url"], "attach": body.get("attach", ""),
            "total": body["amount"]["total"], "openid": field_at(body, "payer", "openid") or _openid("sandbox-buyer"),
            "trade_state": "NOTPAY", "transaction_ids": [], "create_time": self.clock(), "token": token,
            "prepay_id": prepay_id, "request": (trade_type, body),
            "answer": answers.get(trade_type, {"prepay_id": prepay_id}),
        }
        self._tokens[token] = self._tokens[prepay_id] = out_trade_no
        return self.orders[out_trade_no]["answer"]

    def _recreated(self, order: dict, trade_type: str, body: dict) -> dict:
        """Same out_trade_no again: a retry gets the same answer, anything else is refused."""
        if order["request"] != (trade_type, body):
            raise Refusal(400, "INVALID_REQUEST", "商户订单号重复，且与原订单参数不一致")
        if order["trade_state"] in ("SUCCESS", "REFUND"):
            raise Refusal(400, "ORDERPAID", "该订单已支付")
        if order["trade_state"] == "CLOSED":
            raise Refusal(400, "ORDER_CLOSED", "该订单已关闭")
        return order["answer"]

    def _order(self, out_trade_no: str) -> dict:
        if out_trade_no not in self.orders:
            raise Refusal(404, "ORDER_NOT_EXIST", "订单不存在")
        return self.orders[out_trade_no]

    def _api_query_order(self, request: Request, out_trade_no: str):
        require(request.args.get("mchid") == self.mchid, "mchid与请求商户号不一致")
        order = self._order(out_trade_no)
        first = order["transaction_ids"][0] if order["transaction_ids"] else None
        return 200, trade_view(order, self.transactions.get(first))

    def _api_query_transaction(self, request: Request, transaction_id: str):
        require(request.args.get("mchid") == self.mchid, "mchid与请求商户号不一致")
        if transaction_id not in self.transactions:
            raise Refusal(404, "ORDER_NOT_EXIST", "订单不存在")
        txn = self.transactions[transaction_id]
        return 200, trade_view(self.orders[txn["out_trade_no"]], txn)

    def _api_close(self, request: Request, out_trade_no: str):
        require(json_body(request).get("mchid") == self.mchid, "mchid与请求商户号不一致")
        order = self._order(out_trade_no)
        if order["transaction_ids"]:
            raise Refusal(400, "ORDERPAID", "订单已支付，不能关闭")
        order["trade_state"] = "CLOSED"
        return 204, None

    def _api_refund(self, request: Request):
        body = json_body(request)
        out_refund_no = body.get("out_refund_no")
        amount, total = field_at(body, "amount", "refund"), field_at(body, "amount", "total")
        require(isinstance(out_refund_no, str) and OUT_TRADE_NO.fullmatch(out_refund_no), "out_refund_no格式错误")
        require(is_positive_fen(amount) and is_positive_fen(total), "amount.refund和amount.total必须是正整数（分）")
        txn = self._refundable(body)
        existing = self.refunds.get(out_refund_no)
        if existing is not None:
            if (existing["transaction_id"], existing["refund"]) != (txn["transaction_id"], amount):
                raise Refusal(400, "INVALID_REQUEST", "退款单号重复，且与原退款参数不一致")
            return 200, refund_view(existing)
        require(total == txn["total"], "amount.total与原订单金额不一致")
        earlier = [r for r in self.refunds.values() if r["transaction_id"] == txn["transaction_id"]]
        if len(earlier) >= MAX_REFUNDS:
            raise Refusal(400, "INVALID_REQUEST", "订单退款次数已达上限")
        if amount > total - sum(r["refund"] for r in earlier if r["status"] != "CLOSED"):
            raise Refusal(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
        if self.clock() - txn["success_time"] > REFUND_WINDOW:
            raise Refusal(400, "INVALID_REQUEST", "订单已超过退款期限")
        refund = self.refunds[out_refund_no] = {
            "refund_id": self._new_id(REFUND_PREFIX), "out_refund_no": out_refund_no, "mchid": self.mchid,
            "transaction_id": txn["transaction_id"], "out_trade_no": txn["out_trade_no"], "refund": amount,
            "total": total, "status": "PROCESSING", "reason": body.get("reason", ""), "create_time": self.clock(),
            "success_time": None,
            # Without one, WeChat uses the URL configured on the merchant platform: here the order's.
            "notify_url": body.get("notify_url") or self.orders[txn["out_trade_no"]]["notify_url"],
        }
        if self.auto_refund:
            self._later(REFUND_SECONDS * self.retry_scale, self._finish_refund, out_refund_no)
        return 200, refund_view(refund)

    def _refundable(self, body: dict) -> dict:
        if body.get("transaction_id"):
            txn = self.transactions.get(body["transaction_id"])
        else:
            order = self.orders.get(body.get("out_trade_no") or "")
            if order is not None and not order["transaction_ids"]:
                raise Refusal(400, "INVALID_REQUEST", "订单未支付，不能退款")
            txn = self.transactions[order["transaction_ids"][0]] if order else None
        if txn is None:
            raise Refusal(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        return txn

    def _api_query_refund(self, request: Request, out_refund_no: str):
        if out_refund_no not in self.refunds:
            raise Refusal(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return 200, refund_view(self.refunds[out_refund_no])

    def _api_trade_bill(self, request: Request):
        try:
            day = date.fromisoformat(request.args.get("bill_date", ""))
        except ValueError:
            raise Refusal(400, "PARAM_ERROR", "bill_date格式应为YYYY-MM-DD") from None
        bill_type, tar_type = request.args.get("bill_type") or "ALL", request.args.get("tar_type") or ""
        require(bill_type in ("ALL", "SUCCESS", "REFUND") and tar_type in ("", "GZIP"), "bill_type或tar_type无效")
        now = to_beijing(self.clock())
        if day >= now.date() or (day == now.date() - timedelta(days=1) and now.hour < 10):
            raise Refusal(400, "STATEMENT_CREATING", "账单生成中，请在次日10点后下载")
        data = trade_bill_csv(day, bill_type, self.transactions, self.refunds.values())
        if data is None:
            raise Refusal(400, "NO_STATEMENT_EXIST", "该日期没有交易，不存在账单")
        token = secrets.token_urlsafe(24)
        self._bills[token] = (data, tar_type == "GZIP")
        return 200, {"hash_type": "SHA1", "hash_value": hashlib.sha1(data).hexdigest(),
                     "download_url": f"{self.url}/v3/billdownload/file?token={token}"}

    def _api_download_bill(self, request: Request) -> Response:
        """The file itself is not signed (the SDK skips verification): the SHA1 is the check."""
        if request.args.get("token", "") not in self._bills:
            raise Refusal(404, "RESOURCE_NOT_EXISTS", "账单下载地址无效")
        data, zipped = self._bills[request.args["token"]]
        if self._corrupt_next:
            data, self._corrupt_next = _one_byte_changed(data), False
        return Response(gzip.compress(data, mtime=0) if zipped else data, content_type="application/octet-stream")

    def _api_certificates(self, request: Request):
        self.certificate_downloads += 1
        return 200, self._keyring.platform_certificates()

    # --- the cashier (no signatures: this is the buyer's phone) -------------------------------

    def _page_cashier(self, request: Request, token: str) -> Response:
        with self._lock:
            order = self.orders.get(self._tokens.get(token, ""))
        if order is None:
            return _page("二维码已失效", 404)
        if request.method == "POST":
            return self._cashier_choice(request, order["out_trade_no"])
        notice = {"SUCCESS": "该订单已支付：再次支付会产生第二笔付款", "REFUND": "该订单已退款：再次支付会产生新的付款",
                  "CLOSED": "该订单已关闭，无法支付"}.get(order["trade_state"], "")
        html = cashier_page(brand="微信支付", colour="#07c160", merchant=self.merchant_name,
                            description=order["description"], amount_yuan=format_yuan(order["total"]),
                            action=request.full_path.rstrip("?"), notice=notice)
        return Response(html, content_type="text/html; charset=utf-8")

    def _cashier_choice(self, request: Request, out_trade_no: str) -> Response:
        if request.form.get("action") == "pay":
            try:
                self.pay(out_trade_no, payer=request.form.get("payer") or None)
            except ValueError:
                return _page("订单已关闭，无法支付", 409)
            outcome = "支付成功"
        else:
            self.cancel(out_trade_no)
            outcome = "已取消"
        # Real H5 payments return the buyer to the redirect_url the merchant appended to h5_url.
        target = request.args.get("redirect_url")
        return redirect(target, 303) if target else _page(outcome)

    def _page_jsapi(self, request: Request) -> Response:
        with self._lock:
            return jsapi_page(request, appid=self.appid, orders=self.orders, merchant=self.merchant_name,
                              verify=self._keyring.verify_pay_sign)

    def _page_scan(self, request: Request) -> Response:
        """Stands in for the buyer scanning a Native QR code with the WeChat app.  In the demo the
        scanning "phone" is the merchant's own browser: ``return_url`` takes it back there after paying."""
        token = parse_qs(urlsplit(request.args.get("code_url", "")).query).get("pr", [""])[0]
        back = request.args.get("return_url", "")
        query = "?" + urlencode({"redirect_url": back}) if back.startswith(("http://", "https://")) else ""
        return redirect(f"/sandbox/cashier/{token}{query}", 303)
