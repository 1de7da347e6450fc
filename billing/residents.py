"""Residents: people who log in by phone and SMS code, and the 户号 bound to them.

A resident sees only the 户号 bound to them (``Binding``); every query for a resident goes through
``bound_accounts`` so that scoping lives in one place.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import UniqueConstraint, update
from sqlmodel import Field, Session, SQLModel, select

from billing import throttle
from billing.accounts import Account
from billing.errors import InvalidInput, PermissionDenied
from billing.throttle import Rule

CODE_TTL = timedelta(minutes=5)
ATTEMPTS_PER_CODE = 5
DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)

# Who may ask for a code.  Every code goes to the phone's owner, so the per-phone limits only space
# the messages out and cap a flood; they are wide enough that one client cannot use them up: a
# client is held first by its own limits (per address, and per address and phone).
CODE_RULES_BY_ADDRESS = (Rule("code:address:hour", 10, HOUR, "client"), Rule("code:address:day", 30, DAY, "client"))
CODE_RULES_BY_ADDRESS_AND_PHONE = (Rule("code:address+phone:day", 5, DAY, "phone"),)
CODE_RULES_BY_PHONE = (Rule("code:phone:minute", 1, MINUTE, "resend"), Rule("code:phone:day", 20, DAY, "phone"))

_PHONE = re.compile(r"^1[3-9][0-9]{9}$")


class Resident(SQLModel, table=True):
    __tablename__ = "resident"

    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(max_length=11, unique=True)
    name: str = Field(default="", max_length=100)
    created_at: datetime


class Binding(SQLModel, table=True):
    """A 户号 a resident has proved they may see and pay for."""

    __tablename__ = "binding"
    __table_args__ = (UniqueConstraint("resident_id", "account_id"),)

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(foreign_key="resident.id", index=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    bound_at: datetime
    label: str = Field(default="", max_length=20, sa_column_kwargs={"server_default": ""})  # 家, 父母家, 店铺


class WeChatIdentity(SQLModel, table=True):
    """A WeChat user as one app knows them (``oa`` the official account's web OAuth, ``mini`` the
    mini-program), linked to a resident once that WeChat user has proved a phone number."""

    __tablename__ = "wechat_identity"
    __table_args__ = (UniqueConstraint("app", "openid"),)

    id: int | None = Field(default=None, primary_key=True)
    app: str = Field(max_length=10)
    openid: str = Field(max_length=64)
    unionid: str = Field(default="", max_length=64)
    resident_id: int | None = Field(default=None, foreign_key="resident.id", index=True)
    created_at: datetime


class LoginCode(SQLModel, table=True):
    __tablename__ = "login_code"

    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(max_length=11, index=True)
    code_hash: str = Field(max_length=64)
    created_at: datetime
    expires_at: datetime
    attempts: int = 0
    used_at: datetime | None = None


def is_mainland_mobile(phone: object) -> bool:
    return isinstance(phone, str) and _PHONE.fullmatch(phone) is not None


def validate_phone(phone: object, field: str = "phone") -> str:
    if not isinstance(phone, str) or not _PHONE.match(phone.strip()):
        raise InvalidInput(field, "手机号 must be 11 digits starting with 1")
    return phone.strip()


class LoginCodeExpired(PermissionDenied):
    """No live code: none was sent, it expired, it was used, or wrong tries burnt it."""

    code = "login_code_expired"

    def __init__(self) -> None:
        super().__init__("no valid code for this phone: request a new one", field="code")


class WrongLoginCode(PermissionDenied):
    """A wrong code: the failed attempt is counted even though the login's transaction rolls back.
    The last allowed wrong try burns the code (``code`` says which, for the message)."""

    def __init__(self, login_code_id: int, attempts_left: int) -> None:
        super().__init__("wrong code", field="code", attempts_left=attempts_left)
        self.code = "login_code_wrong" if attempts_left else "login_code_burnt"
        self.login_code_id = login_code_id

    def record_after_rollback(self, session: Session) -> None:
        session.execute(
            update(LoginCode).where(LoginCode.id == self.login_code_id).values(attempts=LoginCode.attempts + 1)
        )


def _code_hash(phone: str, code: str) -> str:
    return hashlib.sha256(f"{phone}:{code}".encode()).hexdigest()


def issue_login_code(session: Session, phone: str, *, client: str, now: datetime) -> str:
    """A fresh 6-digit code for ``phone``, asked for from ``client`` (the caller's network address),
    within the limits per client, per client and phone, and per phone (``RateLimited`` otherwise)."""
    phone = validate_phone(phone)
    for rules, key in ((CODE_RULES_BY_ADDRESS, client), (CODE_RULES_BY_ADDRESS_AND_PHONE, f"{client} {phone}"),
                       (CODE_RULES_BY_PHONE, phone)):
        for rule in rules:
            throttle.take(session, rule, key, now=now)
    code = f"{secrets.randbelow(10**6):06d}"
    session.add(LoginCode(phone=phone, code_hash=_code_hash(phone, code), created_at=now, expires_at=now + CODE_TTL))
    session.flush()
    return code


def verify_login_code(session: Session, phone: str, code: str, *, now: datetime) -> Resident:
    """Check the newest live code; five wrong tries burn it.  Creates the resident on first login."""
    phone = validate_phone(phone)
    login = session.exec(
        select(LoginCode)
        .where(LoginCode.phone == phone, LoginCode.used_at.is_(None), LoginCode.expires_at > now)
        .order_by(LoginCode.id.desc())
    ).first()
    if login is None or login.attempts >= ATTEMPTS_PER_CODE:
        raise LoginCodeExpired()
    if not hmac.compare_digest(login.code_hash, _code_hash(phone, (code or "").strip())):
        raise WrongLoginCode(login.id, attempts_left=ATTEMPTS_PER_CODE - login.attempts - 1)
    login.used_at = now
    session.add(login)
    resident = session.exec(select(Resident).where(Resident.phone == phone)).first()
    if resident is None:
        resident = Resident(phone=phone, created_at=now)
        session.add(resident)
        session.flush()
    return resident


def bound_accounts(session: Session, resident_id: int) -> list[Account]:
    return list(
        session.exec(
            select(Account)
            .join(Binding, Binding.account_id == Account.id)
            .where(Binding.resident_id == resident_id)
            .order_by(Account.account_no)
        )
    )
