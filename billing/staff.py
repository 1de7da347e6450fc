"""Staff: back-office users who log in by password and act by role."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import CheckConstraint
from sqlmodel import Field, Session, SQLModel, select

from billing.errors import InvalidInput, PermissionDenied

ROLES = ("reader", "reviewer", "cashier", "finance", "admin")


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


def authenticate_staff(session: Session, username: str, password: str) -> StaffUser:
    staff = session.exec(select(StaffUser).where(StaffUser.username == username, StaffUser.active)).first()
    if staff is None or not check_password(password, staff.password_hash):
        raise PermissionDenied("wrong username or password", field="password")
    return staff
