"""The audit log of staff actions: who did what to which record, when, and what it looked like
before and after.  Append-only, like the ledger."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, Session, SQLModel


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff_user.id", index=True)
    action: str = Field(max_length=40)
    target: str = Field(max_length=120, index=True)
    before: str = Field(default="null", sa_type=Text)
    after: str = Field(default="null", sa_type=Text)
    at: datetime


def audit(session: Session, *, staff_id: int, action: str, target: str, at: datetime,
          before: dict | None = None, after: dict | None = None) -> None:
    session.add(AuditEntry(
        staff_id=staff_id, action=action, target=target, at=at,
        before=json.dumps(before, ensure_ascii=False, default=str), after=json.dumps(after, ensure_ascii=False, default=str),
    ))
