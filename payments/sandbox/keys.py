"""Real RSA keys and certificates for the sandbox gateways, generated once into a folder.

WeChat Pay v3 needs four things on each side:
- the merchant's API key pair and certificate (the merchant signs requests; the gateway verifies
  with the certificate registered under ``merchant_serial``);
- the WeChat Pay public key (``public_key_id`` = ``PUB_KEY_ID_...``) whose private half the
  gateway signs responses and notifications with (public-key mode);
- a platform certificate (serial ``platform_serial``) for merchants still in certificate mode;
  the merchant keeps it as ``<platform_cert_dir>/<SERIAL>.pem``;
- the APIv3 key: 32 ASCII characters, the AES-256-GCM key of notification resources.

Alipay needs the app key pair (the merchant signs, the gateway verifies) and the Alipay key pair
(the gateway signs, the merchant verifies with ``alipay_public_key``).

Files are written once and reused, so a restarted demo keeps its keys.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    """PKCS#8 (``BEGIN PRIVATE KEY``), the form wechatpayv3 requires and Alipay's SDK accepts."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def certificate_pem(key: rsa.RSAPrivateKey, common_name: str) -> tuple[str, str]:
    """A self-signed certificate for ``key``; returns (PEM, serial as upper-case hex)."""
    serial = x509.random_serial_number()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - timedelta(days=365))
        .not_valid_after(now + timedelta(days=365 * 10))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), f"{serial:X}"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)


@dataclass(frozen=True)
class WeChatKeys:
    folder: Path

    merchant_private_key = property(lambda self: self.folder / "merchant_private_key.pem")
    merchant_certificate = property(lambda self: self.folder / "merchant_certificate.pem")
    platform_private_key = property(lambda self: self.folder / "platform_private_key.pem")  # public-key mode
    platform_public_key = property(lambda self: self.folder / "platform_public_key.pem")
    platform_cert_private_key = property(lambda self: self.folder / "platform_cert_private_key.pem")
    platform_cert_dir = property(lambda self: self.folder / "platform_certs")

    @property
    def merchant_serial(self) -> str:
        return (self.folder / "merchant_serial").read_text().strip()

    @property
    def public_key_id(self) -> str:
        return (self.folder / "public_key_id").read_text().strip()

    @property
    def platform_serial(self) -> str:
        return (self.folder / "platform_serial").read_text().strip()

    @property
    def apiv3_key(self) -> str:
        return (self.folder / "apiv3_key").read_text().strip()


def wechat_keys(folder: Path) -> WeChatKeys:
    keys = WeChatKeys(Path(folder))
    if (keys.folder / "apiv3_key").exists():
        return keys
    merchant = new_private_key()
    cert, serial = certificate_pem(merchant, "dianfei merchant")
    _write(keys.merchant_private_key, private_pem(merchant))
    _write(keys.merchant_certificate, cert)
    _write(keys.folder / "merchant_serial", serial)
    platform = new_private_key()
    _write(keys.platform_private_key, private_pem(platform))
    _write(keys.platform_public_key, public_pem(platform))
    _write(keys.folder / "public_key_id", f"PUB_KEY_ID_0{secrets.randbelow(10**20):020d}")
    platform_cert_key = new_private_key()
    platform_cert, platform_serial = certificate_pem(platform_cert_key, "Tenpay.com Root CA (sandbox)")
    _write(keys.platform_cert_private_key, private_pem(platform_cert_key))
    _write(keys.platform_cert_dir / f"{platform_serial}.pem", platform_cert)
    _write(keys.folder / "platform_serial", platform_serial)
    alphabet = string.ascii_letters + string.digits
    _write(keys.folder / "apiv3_key", "".join(secrets.choice(alphabet) for _ in range(32)))  # last: marks completion
    return keys


@dataclass(frozen=True)
class AlipayKeys:
    folder: Path

    app_private_key = property(lambda self: self.folder / "app_private_key.pem")
    app_public_key = property(lambda self: self.folder / "app_public_key.pem")
    alipay_private_key = property(lambda self: self.folder / "alipay_private_key.pem")
    alipay_public_key = property(lambda self: self.folder / "alipay_public_key.pem")


def alipay_keys(folder: Path) -> AlipayKeys:
    keys = AlipayKeys(Path(folder))
    if keys.alipay_public_key.exists():
        return keys
    app, alipay = new_private_key(), new_private_key()
    _write(keys.app_private_key, private_pem(app))
    _write(keys.app_public_key, public_pem(app))
    _write(keys.alipay_private_key, private_pem(alipay))
    _write(keys.alipay_public_key, public_pem(alipay))  # last: marks completion
    return keys
