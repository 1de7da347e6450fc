"""Key files as the WeChat Pay and Alipay consoles hand them out (bare base64 without PEM armour;
private keys PKCS#8 or PKCS#1) work end to end against the sandboxes; a file that is not a usable
key stops startup naming its setting."""

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption, Encoding, NoEncryption, PrivateFormat, PublicFormat, load_pem_private_key,
    load_pem_public_key,
)

from payments.errors import GatewayConfigError
from payments.gateways.alipay import AlipayConfig, AlipayGateway
from payments.gateways.wechatpay import WeChatPayGateway
from tests.payment_fixtures import ALIPAY_APP_ID, SELLER_ID, wechat_config

PRIVATE_FORMATS = {"pkcs8": PrivateFormat.PKCS8, "pkcs1": PrivateFormat.TraditionalOpenSSL}


def rewrite_private(pem: Path, out: Path, form: str, *, armour: bool) -> Path:
    key = load_pem_private_key(pem.read_bytes(), password=None)
    encoding = Encoding.PEM if armour else Encoding.DER
    data = key.private_bytes(encoding, PRIVATE_FORMATS[form], NoEncryption())
    out.write_bytes(data if armour else base64.b64encode(data))  # the console's one line of base64
    return out


def rewrite_public(pem: Path, out: Path) -> Path:
    der = load_pem_public_key(pem.read_bytes()).public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    text = base64.b64encode(der).decode()
    out.write_text("\n".join(text[i:i + 64] for i in range(0, len(text), 64)) + "\n")  # wrapped, still no armour
    return out


KEY_FORMS = [("pkcs8", False), ("pkcs1", False), ("pkcs1", True)]


@pytest.mark.parametrize(("form", "armour"), KEY_FORMS)
def test_wechat_console_key_files_sign_and_verify(sandbox_keys, wechat_sandbox, clock, tmp_path, form, armour):
    keys = sandbox_keys[0]
    gateway = WeChatPayGateway(wechat_config(
        keys, wechat_sandbox.url, "http://127.0.0.1:9", cert_dir=None,
        merchant_key_file=rewrite_private(keys.merchant_private_key, tmp_path / "apiclient_key", form, armour=armour),
        public_key_file=rewrite_public(keys.platform_public_key, tmp_path / "pub_key"),
    ), clock=clock)
    wechat_sandbox.register_order("DF2026112700000001", 1000, "http://127.0.0.1:9/callbacks/wechatpay")
    txn = wechat_sandbox.pay("DF2026112700000001", notify=False)
    assert gateway.query("DF2026112700000001").status == "paid"  # signed with the merchant key, answer verified
    delivery = wechat_sandbox.notification(txn, sign_with="public_key")
    assert gateway.parse_notification(delivery.headers, delivery.body, now=clock()).payment.amount_fen == 1000


def _alipay(keys, url: str, clock, **files) -> AlipayGateway:
    config = dict(app_id=ALIPAY_APP_ID, seller_id=SELLER_ID, app_private_key_file=keys.app_private_key,
                  alipay_public_key_file=keys.alipay_public_key, notify_url="http://127.0.0.1:9/callbacks/alipay",
                  gateway_url=f"{url}/gateway.do")
    return AlipayGateway(AlipayConfig(**(config | files)), clock=clock)


@pytest.mark.parametrize(("form", "armour"), KEY_FORMS)
def test_alipay_console_key_files_sign_and_verify(sandbox_keys, alipay_sandbox, clock, tmp_path, form, armour):
    keys = sandbox_keys[1]
    gateway = _alipay(
        keys, alipay_sandbox.url, clock,
        app_private_key_file=rewrite_private(keys.app_private_key, tmp_path / "app_key.txt", form, armour=armour),
        alipay_public_key_file=rewrite_public(keys.alipay_public_key, tmp_path / "alipay_public_key.txt"),
    )
    alipay_sandbox.register_order("DF2026112700000002", 2500, "http://127.0.0.1:9/callbacks/alipay")
    alipay_sandbox.pay("DF2026112700000002", notify=False)
    assert gateway.query("DF2026112700000002").status == "paid"
    delivery = alipay_sandbox.notification("DF2026112700000002")
    assert gateway.parse_notification(delivery.headers, delivery.body, now=clock()).payment.amount_fen == 2500


def _ec_key(path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return path


def _encrypted(pem: Path, path: Path) -> Path:
    key = load_pem_private_key(pem.read_bytes(), password=None)
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(b"secret")))
    return path


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


UNUSABLE = {
    "missing": (lambda keys, tmp: tmp / "nope.pem", "cannot read"),
    "not a key": (lambda keys, tmp: _write(tmp / "key.txt", "请在此粘贴私钥\n"), "no readable unencrypted key"),
    "public for private": (lambda keys, tmp: keys.app_public_key, "holds a public key; expected an RSA private key"),
    "encrypted": (lambda keys, tmp: _encrypted(keys.app_private_key, tmp / "enc.pem"), "no readable unencrypted key"),
    "not RSA": (lambda keys, tmp: _ec_key(tmp / "ec.pem"), "holds a non-RSA key (ECPrivateKey)"),
}


@pytest.mark.parametrize("case", UNUSABLE)
def test_an_unusable_private_key_names_its_setting(sandbox_keys, clock, tmp_path, case):
    make, says = UNUSABLE[case]
    with pytest.raises(GatewayConfigError) as error:
        _alipay(sandbox_keys[1], "http://127.0.0.1:9", clock, app_private_key_file=make(sandbox_keys[1], tmp_path))
    assert error.value.field == "DIANFEI_ALIPAY_APP_KEY_FILE" and says in str(error.value)
    assert str(error.value).count("\n") == 0


def test_a_private_key_where_the_public_key_belongs_names_its_setting(sandbox_keys, clock):
    keys = sandbox_keys[0]
    with pytest.raises(GatewayConfigError) as error:
        WeChatPayGateway(wechat_config(keys, "http://127.0.0.1:9", "http://127.0.0.1:9",
                                       public_key_file=keys.platform_private_key), clock=clock)
    assert error.value.field == "DIANFEI_WECHATPAY_PUBLIC_KEY_FILE"
    assert "holds a private key; expected an RSA public key" in str(error.value)


def test_a_broken_platform_certificate_names_the_folder(sandbox_keys, clock, tmp_path):
    (tmp_path / "5157F09EFDC096DE15EBE81A47057A7232F1B8E1.pem").write_text("-----BEGIN CERTIFICATE-----\nxx\n")
    with pytest.raises(GatewayConfigError) as error:
        WeChatPayGateway(wechat_config(sandbox_keys[0], "http://127.0.0.1:9", "http://127.0.0.1:9",
                                       cert_dir=tmp_path), clock=clock)
    assert error.value.field == "DIANFEI_WECHATPAY_CERT_DIR" and "not a readable PEM certificate" in str(error.value)
