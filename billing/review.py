"""The review queue (复核): everything that needs a staff decision before it is billed.

An item says what fired (``kind`` and ``rule``: a read finding such as ``high_use``, later a held
bill), about which account, meter, district and read, for which day, with the evidence as JSON.
Items are idempotent by ``key``: a check that runs again over the same data opens nothing twice.
A reviewer resolves an item with an action (accept, correct, re-read, estimate; bills add their
own), audit-logged with the reason; a re-read is assigned to a reader, who sees it on the phone.
The actions are in ``billing.review_actions``, the queue as staff page through it in
``billing.review_queue``.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Text
from sqlmodel import Field, Session, SQLModel, select

from billing.db import insert_ignoring_duplicates

OPEN, RESOLVED = "open", "resolved"
READ_FINDING = "read"


class ReviewItem(SQLModel, table=True):
    __tablename__ = "review_item"
    __table_args__ = (CheckConstraint("status IN ('open', 'resolved')", name="status"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=160, unique=True)
    kind: str = Field(max_length=20, index=True)
    rule: str = Field(max_length=40, index=True)
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    meter_id: int | None = Field(default=None, foreign_key="meter.id", index=True)
    district_id: int | None = Field(default=None, foreign_key="district.id", index=True)
    read_id: int | None = Field(default=None, foreign_key="meter_read.id")
    subject_on: date
    detail: str = Field(default="{}", sa_type=Text)
    status: str = Field(default=OPEN, max_length=10, index=True)
    opened_at: datetime
    assigned_to: int | None = Field(default=None, foreign_key="staff_user.id", index=True)  # a re-read's reader
    ordered_by: int | None = Field(default=None, foreign_key="staff_user.id")  # the reviewer who ordered the re-read
    resolved_at: datetime | None = None
    resolved_by: int | None = Field(default=None, foreign_key="staff_user.id")
    action: str | None = Field(default=None, max_length=20)
    reason: str = Field(default="", max_length=400)
    # The read the decision left valid on the day: the one accepted, the correction, the estimate or
    # the re-read (error assessment follows it: a decision whose read is later superseded was wrong).
    result_read_id: int | None = Field(default=None, foreign_key="meter_read.id")

    @property
    def details(self) -> dict:
        return json.loads(self.detail)


def item_key(kind: str, rule: str, subject_on: date, *, meter_id: int | None = None, account_id: int | None = None,
             district_id: int | None = None) -> str:
    subject = f"m{meter_id}" if meter_id else f"a{account_id}" if account_id else f"d{district_id}"
    return f"{kind}:{rule}:{subject}:{subject_on.isoformat()}"


def open_item(session: Session, *, kind: str, rule: str, subject_on: date, at: datetime, detail: dict | None = None,
              account_id: int | None = None, meter_id: int | None = None, district_id: int | None = None,
              read_id: int | None = None) -> int | None:
    """Open an item unless one with the same key exists; returns the new id, or None."""
    statement = insert_ignoring_duplicates(session, ReviewItem.__table__, ["key"], returning="id")
    return session.execute(statement, item_row(kind=kind, rule=rule, subject_on=subject_on, at=at, detail=detail,
                                               account_id=account_id, meter_id=meter_id, district_id=district_id,
                                               read_id=read_id)).scalar()


def item_row(*, kind: str, rule: str, subject_on: date, at: datetime, detail: dict | None = None,
             account_id: int | None = None, meter_id: int | None = None, district_id: int | None = None,
             read_id: int | None = None) -> dict:
    """A new open item's row, for ``open_item`` or a bulk insert ignoring duplicate keys."""
    return {
        "key": item_key(kind, rule, subject_on, meter_id=meter_id, account_id=account_id, district_id=district_id),
        "kind": kind, "rule": rule, "account_id": account_id, "meter_id": meter_id,
        "district_id": district_id, "read_id": read_id, "subject_on": subject_on,
        "detail": json.dumps(detail or {}, ensure_ascii=False, default=str), "status": OPEN, "opened_at": at,
        "assigned_to": None, "resolved_at": None, "resolved_by": None, "action": None, "reason": "",
    }


def open_items(session: Session, *, kind: str | None = None) -> list[ReviewItem]:
    query = select(ReviewItem).where(ReviewItem.status == OPEN).order_by(ReviewItem.subject_on, ReviewItem.id)
    return list(session.exec(query.where(ReviewItem.kind == kind) if kind else query))
