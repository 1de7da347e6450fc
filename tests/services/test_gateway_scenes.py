"""Every payment scene each adapter offers, against the sandbox gateways."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from payments.gateways.base import OrderRequest


def _order(number: str) -> OrderRequest:
    return OrderRequest(f"DF20261127{number:0>16}", 1234, "电费预存", datetime.now(UTC) + timedelta(minutes=30))


def test_wechat_native_h5_and_jsapi(gateways, sandbox_keys):
    wechat = gateways["wechat"]
    native = wechat.create(_order("1"), "native")
    assert native.kind == "qr" and native.url.startswith("weixin://wxpay/bizpayurl?pr=")
    h5 = wechat.create(_order("2"), "h5", client_ip="10.0.0.8", return_url="http://127.0.0.1/pay/orders/2")
    assert h5.kind == "redirect" and "redirect_url=http%3A%2F%2F127.0.0.1%2Fpay%2Forders%2F2" in h5.url
    assert "¥12.34" in requests.get(h5.url, timeout=10).text
    jsapi = wechat.create(_order("3"), "miniprogram", payer_id="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    params = jsapi.params
    assert jsapi.kind == "jsapi" and params["package"].startswith("prepay_id=") and params["signType"] == "RSA"
    certificate = x509.load_pem_x509_certificate(sandbox_keys[0].merchant_certificate.read_bytes())
    message = f"{params['appId']}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n".encode()
    certificate.public_key().verify(base64.b64decode(params["paySign"]), message, padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize("scene", ["wap", "page"])
def test_alipay_browser_cashiers(gateways, scene):
    checkout = gateways["alipay"].create(_order(scene), scene, return_url="http://127.0.0.1/pay/orders/x")
    assert checkout.kind == "redirect" and "/gateway.do?" in checkout.url
    page = requests.get(checkout.url, timeout=10)
    assert page.status_code == 200 and "¥12.34" in page.text


def test_alipay_precreate_qr(gateways):
    checkout = gateways["alipay"].create(_order("qr"), "precreate")
    assert checkout.kind == "qr" and checkout.url.startswith("http")
    assert gateways["alipay"].query(_order("qr").out_trade_no).status == "pending"
