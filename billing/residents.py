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

from sqlalchemy import UniqueConstraint, func, update
from sqlmodel import Field, Session, SQLModel, select

from billing.accounts import Account
from billing.errors import InvalidInput, PermissionDenied, RateLimited

CODE_TTL = timedelta(minutes=5)
CODE_INTERVAL = timedelta(seconds=60)
CODES_PER_DAY = 10
ATTEMPTS_PER_CODE = 5

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


class LoginCode(SQLModel, table=True):
    __tablename__ = "login_code"

    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(max_length=11, index=True)
    code_hash: str = Field(max_length=64)
    created_at: datetime
    expires_at: datetime
    attempts: int = 0
    used_at: datetime | None = None


def validate_phone(phone: object, field: str = "phone") -> str:
    if not isinstance(phone, str) or not _PHONE.match(phone.strip()):
        raise InvalidInput(field, "手机号 must be 11 digits starting with 1")
    return phone.strip()


class WrongLoginCode(PermissionDenied):
    """A wrong code: the failed attempt is counted even though the login's transaction rolls back."""

    def __init__(self, login_code_id: int, attempts_left: int) -> None:
        super().__init__("wrong code", field="code", attempts_left=attempts_left)
        self.login_code_id = login_code_id

    def record_after_rollback(self, session: Session) -> None:
        session.execute(
            update(LoginCode).where(LoginCode.id == self.login_code_id).values(attempts=LoginCode.attempts + 1)
        )


def _code_hash(phone: str, code: str) -> str:
    return hashlib.sha256(f"{phone}:{code}".encode()).hexdigest()


def issue_login_code(session: Session, phone: str, *, now: datetime) -> str:
    """A fresh 6-digit code for ``phone``: at most one a minute and ten a day."""
    phone = validate_phone(phone)
    recent = session.exec(
        select(func.count(), func.max(LoginCode.created_at)).where(
            LoginCode.phone == phone, LoginCode.created_at > now - timedelta(days=1)
        )
    ).one()
    count, latest = recent
    if latest is not None and now - latest < CODE_INTERVAL:
        raise RateLimited("a code was sent less than a minute ago", field="phone")
    if count >= CODES_PER_DAY:
        raise RateLimited("too many codes today for this phone", field="phone")
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
        raise PermissionDenied("no valid code for this phone: request a new one", field="code")
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
