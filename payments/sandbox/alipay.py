"""A local Alipay open-platform gateway that speaks the real wire protocol with real RSA2 keys.

A merchant talks to it through python-alipay-sdk exactly as to openapi.alipay.com: signed requests
in, signed JSON answers out, signed form notifications to ``notify_url`` on Alipay's retry schedule,
and daily statements in Alipay's zip-of-GBK-CSV format. It checks what the real gateway checks (app
id, signature, a Beijing-time timestamp, two-decimal yuan amounts), so merchant mistakes fail here
before they fail in production. It is the gateway, so it never imports the SDK; the wire mechanics
(signing, verifying, checking requests) are in ``alipay_protocol``, and this module keeps the trades
and refunds and the routes.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from datetime import date, datetime, timedelta
from html import escape
from urllib.parse import urlencode

from cryptography.hazmat.primitives import serialization
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from billing.clock import beijing_date, system_clock
from billing.money import format_yuan
from payments.sandbox.alipay_bill import bill_entries, bill_zip
from payments.sandbox.alipay_protocol import (Refusal, amount_field, beijing_text, biz_content, check_request,
                                              required_field, sign_notification, sign_params, signed_json,
                                              text_field)
from payments.sandbox.cashier import cashier_page
from payments.sandbox.delivery import Attempt, Delivery, Notifier, post
from payments.sandbox.keys import AlipayKeys
from payments.sandbox.server import Served

WAIT, SUCCESS, CLOSED = "WAIT_BUYER_PAY", "TRADE_SUCCESS", "TRADE_CLOSED"
RETRY_SCHEDULE = (240, 600, 600, 3600, 7200, 21600, 54000)  # 4m, 10m, 10m, 1h, 2h, 6h, 15h
BILL_URL_LIFETIME = timedelta(seconds=30)
FORGED_APP_ID, FORGED_SELLER_ID = "2021000000000000", "2088000000000000"
FORGERIES = ("bad_signature", "wrong_key", "tampered_amount", "unknown_order", "wrong_appid", "wrong_seller")
BROWSER_METHODS = ("alipay.trade.wap.pay", "alipay.trade.page.pay")
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def _buyer_id(buyer: str) -> str:
    """The same payer name is the same Alipay user, so repeated demo payments look consistent."""
    return "2088" + f"{int(hashlib.sha256(buyer.encode()).hexdigest(), 16) % 10**12:012d}"


def _logon_id(buyer: str) -> str:
    local, _, domain = buyer.partition("@")
    return f"{local[:3]}***@{domain or 'sandbox.com'}"


def _page(text: str) -> Response:
    html = f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>支付宝</title><p>{escape(text)}</p></html>'
    return Response(html, content_type="text/html; charset=utf-8")


class AlipaySandbox(Served):
    def __init__(self, keys: AlipayKeys, *, app_id: str, seller_id: str, clock=system_clock,
                 retry_scale: float = 1.0, auto_notify: bool = True, merchant_name: str = "县供电公司") -> None:
        self.app_id, self.seller_id, self.clock = app_id, seller_id, clock
        self.auto_notify, self.merchant_name = auto_notify, merchant_name
        self.url = ""  # replaced by serve()
        self.trades: dict[str, dict] = {}
        self.refunds: dict[tuple[str, str], dict] = {}
        self.notifier = Notifier(RETRY_SCHEDULE, accepted=lambda attempt: attempt.body == "success",
                                 retry_scale=retry_scale)
        self._private = serialization.load_pem_private_key(keys.alipay_private_key.read_bytes(), password=None)
        self._app_public = serialization.load_pem_public_key(keys.app_public_key.read_bytes())
        self._lock = threading.RLock()
        self._cashier_tokens: dict[str, str] = {}
        self._bill_tokens: dict[str, tuple[date, datetime]] = {}
        self._apis = {
            "alipay.trade.precreate": self._precreate,
            "alipay.trade.query": self._query,
            "alipay.trade.close": self._close,
            "alipay.trade.refund": self._refund,
            "alipay.trade.fastpay.refund.query": self._refund_query,
            "alipay.data.dataservice.bill.downloadurl.query": self._bill_url,
        }
        self._routes = Map([
            Rule("/gateway.do", endpoint=self._http_gateway, methods=["GET", "POST"]),
            Rule("/sandbox/cashier/<token>", endpoint=self._http_cashier, methods=["GET", "POST"]),
            Rule("/sandbox/bill/<token>", endpoint=self._http_bill, methods=["GET"]),
        ])

    def __call__(self, environ, start_response):
        try:
            endpoint, args = self._routes.bind_to_environ(environ).match()
            response = endpoint(Request(environ), **args)
        except HTTPException as error:
            response = error
        return response(environ, start_response)

    def register_order(self, out_trade_no: str, amount_fen: int, notify_url: str, *, subject: str = "电费") -> None:
        self._open(out_trade_no, amount_fen, subject, notify_url, None, "alipay.trade.precreate")

    def pay(self, out_trade_no: str, *, buyer: str | None = None, notify: bool | None = None) -> str:
        with self._lock:
            trade = self._find({"out_trade_no": out_trade_no})
            if trade["status"] != WAIT:
                raise Refusal("ACQ.TRADE_HAS_SUCCESS" if trade["paid_at"] else "ACQ.TRADE_HAS_CLOSE", "交易不可支付")
            buyer = buyer or "sandbox-buyer"
            trade.update(status=SUCCESS, paid_at=self.clock(), buyer_id=_buyer_id(buyer),
                         buyer_logon_id=_logon_id(buyer))
        self._maybe_notify(trade, notify)
        return trade["trade_no"]

    def clear_after_midnight(self, out_trade_no: str, at: datetime) -> None:
        """The trade (paid in the last seconds of a day) is listed on the statement of ``at``'s day."""
        with self._lock:
            self._find({"out_trade_no": out_trade_no})["cleared_at"] = at

    def leave_off_statement(self, out_trade_no: str) -> None:
        """A fault on the channel's side: its statements never list this trade (a 短款 to chase)."""
        with self._lock:
            self._find({"out_trade_no": out_trade_no})["off_statement"] = True

    def cancel(self, out_trade_no: str) -> None:
        """The buyer leaves the cashier: nothing changes, as at Alipay."""
        self._find({"out_trade_no": out_trade_no})

    def notification(self, out_trade_no: str, *, forge: str | None = None) -> Delivery:
        if forge not in (None, *FORGERIES):
            raise ValueError(f"unknown forgery {forge!r}")
        with self._lock:
            trade = self._find({"out_trade_no": out_trade_no})
            if not trade["notify_url"]:
                raise ValueError(f"trade {out_trade_no} has no notify_url")
            params = self._notification_params(trade)
            amount_fen = trade["amount_fen"]
        self._forge_before_signing(params, forge)

        def signed_now() -> Delivery:  # a retry keeps its notify_id but is stamped and signed anew
            form = sign_notification(params | {"notify_time": beijing_text(self.clock())}, self._private, forge,
                                     amount_fen)
            return Delivery(trade["notify_url"], {"Content-Type": FORM}, urlencode(form).encode(), resign=signed_now)

        return signed_now()

    def deliver(self, delivery: Delivery) -> Attempt:
        return post(delivery)

    def wait_idle(self, timeout: float = 30) -> bool:
        return self.notifier.wait_idle(timeout)

    def _open(self, out_trade_no: str, amount_fen: int, subject: str, notify_url: str | None,
              return_url: str | None, method: str) -> dict:
        """Create the trade, or return it again for the same order re-opened at the cashier."""
        with self._lock:
            trade = self.trades.get(out_trade_no)
            if trade is None:
                token = secrets.token_urlsafe(16)
                trade = self.trades[out_trade_no] = {
                    "out_trade_no": out_trade_no, "trade_no": self._trade_no(), "amount_fen": amount_fen,
                    "subject": subject, "notify_url": notify_url, "return_url": return_url, "method": method,
                    "status": WAIT, "created_at": self.clock(), "paid_at": None, "closed_at": None,
                    "buyer_id": "", "buyer_logon_id": "", "refunded_fen": 0, "token": token,
                }
                self._cashier_tokens[token] = out_trade_no
            elif trade["amount_fen"] != amount_fen:
                raise Refusal("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
            elif trade["status"] != WAIT:
                raise Refusal("ACQ.TRADE_HAS_SUCCESS" if trade["paid_at"] else "ACQ.TRADE_HAS_CLOSE", "交易已支付或已关闭")
            return trade

    def _open_from(self, biz: dict, params: dict[str, str], method: str) -> dict:
        return self._open(required_field(biz, "out_trade_no"), amount_field(biz, "total_amount"),
                          required_field(biz, "subject"), params.get("notify_url"), params.get("return_url"), method)

    def _trade_no(self) -> str:
        return f"{beijing_date(self.clock()):%Y%m%d}22001{secrets.randbelow(10**15):015d}"

    def _find(self, biz: dict) -> dict:
        with self._lock:
            trade = self.trades.get(text_field(biz, "out_trade_no"))
            if trade is None and text_field(biz, "trade_no"):
                trade = next((t for t in self.trades.values() if t["trade_no"] == biz["trade_no"]), None)
        if trade is None:
            raise Refusal("ACQ.TRADE_NOT_EXIST", "交易不存在")
        return trade

    def _trade_fields(self, trade: dict) -> dict[str, str]:
        """What the query answer and the notification both say about a trade."""
        paid = format_yuan(trade["amount_fen"]) if trade["paid_at"] else "0.00"
        return {
            "trade_no": trade["trade_no"], "out_trade_no": trade["out_trade_no"],
            "buyer_logon_id": trade["buyer_logon_id"], "trade_status": trade["status"],
            "total_amount": format_yuan(trade["amount_fen"]), "receipt_amount": paid, "buyer_pay_amount": paid,
            "invoice_amount": paid, "point_amount": "0.00",
        }

    def _fund_bills(self, trade: dict) -> list[dict[str, str]]:
        paid = [{"amount": format_yuan(trade["amount_fen"]), "fundChannel": "ALIPAYACCOUNT"}]
        return paid if trade["paid_at"] else []

    def _latest_refund(self, trade: dict) -> dict | None:
        mine = [r for r in self.refunds.values() if r["out_trade_no"] == trade["out_trade_no"]]
        return mine[-1] if mine else None

    def _notification_params(self, trade: dict) -> dict[str, str]:
        refund = self._latest_refund(trade)
        params = {
            "notify_time": beijing_text(self.clock()), "notify_type": "trade_status_sync",
            "notify_id": secrets.token_hex(16), "app_id": self.app_id, "auth_app_id": self.app_id,
            "charset": "utf-8", "version": "1.0", "sign_type": "RSA2", "seller_id": self.seller_id,
            **self._trade_fields(trade), "buyer_id": trade["buyer_id"], "subject": trade["subject"],
            "gmt_create": beijing_text(trade["created_at"]),
            "gmt_payment": beijing_text(trade["paid_at"]) if trade["paid_at"] else "",
            "gmt_close": beijing_text(trade["closed_at"]) if trade["closed_at"] else "",
            "fund_bill_list": json.dumps(self._fund_bills(trade), separators=(",", ":")) if trade["paid_at"] else "",
        }
        if refund is not None:
            params.update(refund_fee=format_yuan(trade["refunded_fen"]), gmt_refund=beijing_text(refund["at"]),
                          out_biz_no=refund["out_request_no"])
        return {k: v for k, v in params.items() if v != ""}  # Alipay sends no empty parameters

    def _forge_before_signing(self, params: dict[str, str], forge: str | None) -> None:
        """Forgeries that a correct signature still covers: the merchant must check the content."""
        if forge == "unknown_order":
            params.update(out_trade_no=f"SBX{secrets.token_hex(8).upper()}", trade_no=self._trade_no())
        elif forge == "wrong_appid":
            params.update(app_id=FORGED_APP_ID, auth_app_id=FORGED_APP_ID)
        elif forge == "wrong_seller":
            params["seller_id"] = FORGED_SELLER_ID

    def _maybe_notify(self, trade: dict, notify: bool | None) -> None:
        if (self.auto_notify if notify is None else notify) and trade["notify_url"]:
            self.notifier.send(self.notification(trade["out_trade_no"]))

    def _return_params(self, trade: dict) -> dict[str, str]:
        params = {
            "out_trade_no": trade["out_trade_no"], "trade_no": trade["trade_no"],
            "total_amount": format_yuan(trade["amount_fen"]), "seller_id": self.seller_id, "app_id": self.app_id,
            "auth_app_id": self.app_id, "method": f"{trade['method']}.return", "timestamp": beijing_text(self.clock()),
            "charset": "utf-8", "version": "1.0", "sign_type": "RSA2",
        }
        return sign_params(params, self._private)

    def _http_gateway(self, request: Request) -> Response:
        params = request.values.to_dict()
        method = params.get("method", "")
        try:
            check_request(params, methods=(*self._apis, *BROWSER_METHODS), app_id=self.app_id,
                          app_public_key=self._app_public, clock=self.clock)
            biz = biz_content(params)
            if method in BROWSER_METHODS:  # the browser arrives here: answer with a page
                return self._cashier_page(self._open_from(biz, params, method))
            answer = {"code": "10000", "msg": "Success", **self._apis[method](biz, params)}
        except Refusal as refusal:
            if method in BROWSER_METHODS:
                return _page(f"错误代码 {refusal.answer['sub_code']}：{refusal.answer['sub_msg']}")
            return signed_json("error_response" if refusal.gateway else method, refusal.answer, self._private)
        return signed_json(method, answer, self._private)

    def _precreate(self, biz: dict, params: dict[str, str]) -> dict:
        trade = self._open_from(biz, params, "alipay.trade.precreate")
        return {"out_trade_no": trade["out_trade_no"], "qr_code": self._cashier_url(trade)}

    def _query(self, biz: dict, params: dict[str, str]) -> dict:
        with self._lock:
            trade = self._find(biz)
            answer = {**self._trade_fields(trade), "fund_bill_list": self._fund_bills(trade)}
            if trade["paid_at"]:
                answer.update(send_pay_date=beijing_text(trade["paid_at"]), buyer_user_id=trade["buyer_id"])
        return {k: v for k, v in answer.items() if v not in ("", [])}

    def _close(self, biz: dict, params: dict[str, str]) -> dict:
        with self._lock:
            trade = self._find(biz)
            if trade["status"] != WAIT:
                raise Refusal("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
            trade.update(status=CLOSED, closed_at=self.clock())
        return {"trade_no": trade["trade_no"], "out_trade_no": trade["out_trade_no"]}

    def _refund(self, biz: dict, params: dict[str, str]) -> dict:
        amount_fen = amount_field(biz, "refund_amount")
        with self._lock:
            trade = self._find(biz)
            # Without out_request_no Alipay numbers the request by out_trade_no, so a second partial
            # refund without it is a retry of the first and moves no money.
            key = (trade["out_trade_no"], text_field(biz, "out_request_no") or trade["out_trade_no"])
            refund = self.refunds.get(key)
            fund_change = "N" if refund else "Y"
            if refund is None:
                refund = self._new_refund(trade, key[1], amount_fen, text_field(biz, "refund_reason"))
        if fund_change == "Y":
            self._maybe_notify(trade, None)
        return {"trade_no": trade["trade_no"], "out_trade_no": trade["out_trade_no"],
                "buyer_logon_id": trade["buyer_logon_id"], "buyer_user_id": trade["buyer_id"],
                "fund_change": fund_change, "refund_fee": format_yuan(trade["refunded_fen"]),
                "gmt_refund_pay": beijing_text(refund["at"])}

    def _new_refund(self, trade: dict, out_request_no: str, amount_fen: int, reason: str) -> dict:
        if trade["status"] != SUCCESS:
            raise Refusal("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        if trade["refunded_fen"] + amount_fen > trade["amount_fen"]:
            raise Refusal("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
        trade["refunded_fen"] += amount_fen
        if trade["refunded_fen"] == trade["amount_fen"]:
            trade.update(status=CLOSED, closed_at=self.clock())
        refund = self.refunds[(trade["out_trade_no"], out_request_no)] = {
            "out_trade_no": trade["out_trade_no"], "trade_no": trade["trade_no"], "out_request_no": out_request_no,
            "amount_fen": amount_fen, "reason": reason, "at": self.clock(),
        }
        return refund

    def _refund_query(self, biz: dict, params: dict[str, str]) -> dict:
        with self._lock:
            trade = self._find(biz)
            refund = self.refunds.get((trade["out_trade_no"], required_field(biz, "out_request_no")))
        if refund is None:
            return {}  # Alipay answers Success without refund fields: "no such refund (yet)"
        return {"out_request_no": refund["out_request_no"], "out_trade_no": trade["out_trade_no"],
                "trade_no": trade["trade_no"], "total_amount": format_yuan(trade["amount_fen"]),
                "refund_amount": format_yuan(refund["amount_fen"]), "refund_status": "REFUND_SUCCESS"}

    def _bill_url(self, biz: dict, params: dict[str, str]) -> dict:
        if text_field(biz, "bill_type") != "trade":
            raise Refusal("ACQ.INVALID_PARAMETER", "参数无效：bill_type")
        text = required_field(biz, "bill_date")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise Refusal("ACQ.INVALID_PARAMETER", "参数无效：bill_date")
        day = date.fromisoformat(text)
        if day >= beijing_date(self.clock()):  # the day's file exists only once the day is over
            raise Refusal("isp.bill_not_exist", "账单不存在")
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._bill_tokens[token] = (day, self.clock() + BILL_URL_LIFETIME)
        return {"bill_download_url": f"{self.url}/sandbox/bill/{token}"}

    def _http_bill(self, request: Request, token: str) -> Response:
        with self._lock:
            day, expires_at = self._bill_tokens.get(token, (None, None))
            entries = bill_entries(self.trades, self.refunds, day) if day else []
        if day is None or self.clock() > expires_at:
            raise NotFound()
        name, data = bill_zip(self.seller_id, day, entries, exported_at=self.clock())
        return Response(data, content_type="application/oct-stream",
                        headers={"Content-Disposition": f"attachment; filename={name}"})

    def _cashier_url(self, trade: dict) -> str:
        return f"{self.url}/sandbox/cashier/{trade['token']}"

    def _cashier_page(self, trade: dict) -> Response:
        html = cashier_page(brand="支付宝", colour="#1677ff", merchant=self.merchant_name, description=trade["subject"],
                            amount_yuan=format_yuan(trade["amount_fen"]), action=self._cashier_url(trade))
        return Response(html, content_type="text/html; charset=utf-8")

    def _http_cashier(self, request: Request, token: str) -> Response:
        with self._lock:
            trade = self.trades.get(self._cashier_tokens.get(token, ""))
        if trade is None:
            raise NotFound()
        if request.method == "GET":
            return self._cashier_page(trade)
        if request.form.get("action") != "pay":
            self.cancel(trade["out_trade_no"])
            return redirect(trade["return_url"], 303) if trade["return_url"] else _page("已取消")
        try:
            self.pay(trade["out_trade_no"], buyer=request.form.get("payer") or None)
        except Refusal as refusal:
            return _page(f"无法支付：{refusal.answer['sub_msg']}")
        if not trade["return_url"]:
            return _page("支付成功")
        separator = "&" if "?" in trade["return_url"] else "?"
        return redirect(trade["return_url"] + separator + urlencode(self._return_params(trade)), 303)
