"""Staff: back-office users who log in by password and act by role."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import CheckConstraint
from sqlmodel import Field, Session, SQLModel, select

from billing import throttle
from billing.errors import InvalidInput, PermissionDenied, RateLimited
from billing.throttle import Rule

ROLES = ("reader", "reviewer", "cashier", "finance", "admin")
# Failed logins: a user name is held after 5 failures in 15 minutes (a guessing attack on one
# account); an address after 20 (one client trying many names; an office shares one address).
FAILURES_BY_USER = Rule("staff:failures:user", 5, timedelta(minutes=15), "login")
FAILURES_BY_ADDRESS = Rule("staff:failures:address", 20, timedelta(minutes=15), "login")


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=100)
    password_hash: str = Field(max_length=200)
    active: bool = True


class StaffRole(SQLModel, table=True):
    __tablename__ = "staff_role"
    __table_args__ = (CheckConstraint("role IN ('reader', 'reviewer', 'cashier', 'finance', 'admin')", name="role"),)

    staff_id: int = Field(foreign_key="staff_user.id", primary_key=True)
    role: str = Field(max_length=10, primary_key=True)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    _, salt_hex, _ = stored.split("$")
    return hmac.compare_digest(hash_password(password, salt=bytes.fromhex(salt_hex)), stored)


def add_staff(session: Session, *, username: str, name: str, password: str, roles: list[str]) -> StaffUser:
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise InvalidInput("roles", f"unknown role {', '.join(unknown)}; roles are {', '.join(ROLES)}")
    staff = StaffUser(username=username, name=name, password_hash=hash_password(password))
    session.add(staff)
    session.flush()
    session.add_all(StaffRole(staff_id=staff.id, role=role) for role in roles)
    session.flush()
    return staff


def staff_roles(session: Session, staff_id: int) -> set[str]:
    return set(session.exec(select(StaffRole.role).where(StaffRole.staff_id == staff_id)))


class WrongPassword(PermissionDenied):
    """Unknown user or wrong password (the same answer): the failure is counted after the rollback."""

    def __init__(self, failures: list[tuple[Rule, str]], now: datetime) -> None:
        super().__init__("wrong username or password", field="password")
        self.failures, self.now = failures, now

    def record_after_rollback(self, session: Session) -> None:
        for rule, key in self.failures:
            throttle.hit(session, rule, key, now=self.now)


@cache
def _dummy_hash() -> str:
    """Checked for unknown users, so that they cost the same scrypt as real ones."""
    return hash_password(secrets.token_hex(16))


def authenticate_staff(session: Session, username: str, password: str, *, client: str, now: datetime,
                       check: Callable[[str, str], bool] = check_password) -> StaffUser:
    """The active staff user with this password.  Refused without a check while the user name or
    the client address has too many recent failures; unknown names are hashed like known ones."""
    failures = [(FAILURES_BY_USER, username.strip().lower()), (FAILURES_BY_ADDRESS, client)]
    for rule, key in failures:
        if throttle.exceeded(session, rule, key, now=now):
            raise RateLimited(f"too many failed logins ({rule.name})", field=rule.field,
                              minutes=rule.window // timedelta(minutes=1))
    staff = session.exec(select(StaffUser).where(StaffUser.username == username, StaffUser.active)).first()
    matches = check(password, staff.password_hash if staff else _dummy_hash())
    if staff is None or not matches:
        raise WrongPassword(failures, now)
    throttle.clear(session, FAILURES_BY_USER, failures[0][1])
    return staff
