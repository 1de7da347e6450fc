"""The WeChat browser's side of a JSAPI payment, played for the demo and tests.

In WeChat the merchant's page calls ``WeixinJSBridge.invoke('getBrandWCPayRequest', params)`` (what
``wx.chooseWXPay`` wraps) with ``appId``, ``timeStamp``, ``nonceStr``, ``package`` (``prepay_id=..``),
``signType`` RSA and ``paySign``; WeChat checks the signature with the merchant's certificate, shows
its pay sheet to the user whose openid the order names, and the page hears ok, cancel or fail.
Outside WeChat there is no bridge: the page opens ``/sandbox/jsapi`` with the same parameters and a
``redirect_url``, which checks them as WeChat does and shows the sandbox cashier.  The payment it
makes is the order's payer's, and its notification is the usual signed one.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from billing.money import format_yuan
from payments.sandbox.cashier import cashier_page

PARAMS = ("appId", "timeStamp", "nonceStr", "package", "signType", "paySign")


def jsapi_page(request: Request, *, appid: str, orders: dict[str, dict], merchant: str,
               verify: Callable[[list[str], str], bool]) -> Response:
    """What ``getBrandWCPayRequest`` shows for these parameters: the pay sheet, or WeChat's refusal."""
    given = {name: request.args.get(name, "") for name in PARAMS}
    prepay_id = given["package"].removeprefix("prepay_id=")
    order = next((o for o in orders.values() if o["trade_type"] == "JSAPI" and o["prepay_id"] == prepay_id), None)
    problem = ("appId与商户号绑定的appid不一致" if given["appId"] != appid
               else "支付验证签名失败" if given["signType"] != "RSA"
               or not verify([given[name] for name in PARAMS[:4]], given["paySign"])
               else "prepay_id无效" if order is None or not given["package"].startswith("prepay_id=")
               else "该订单已关闭" if order["trade_state"] == "CLOSED" else "")
    if problem:  # the page hears get_brand_wcpay_request:fail
        return Response(f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>微信支付</title>'
                        f'<p>支付失败：{escape(problem)}</p></html>', 400, content_type="text/html; charset=utf-8")
    back = request.args.get("redirect_url", "")
    query = "?" + urlencode({"redirect_url": back}) if back.startswith(("http://", "https://")) else ""
    html = cashier_page(brand="微信支付", colour="#07c160", merchant=merchant, description=order["description"],
                        amount_yuan=format_yuan(order["total"]), action=f"/sandbox/cashier/{prepay_id}{query}",
                        notice="沙箱：模拟在微信内调起支付（WeixinJSBridge getBrandWCPayRequest）", payer_field=False)
    return Response(html, content_type="text/html; charset=utf-8")
