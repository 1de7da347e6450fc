"""The event outbox: facts (bill issued, payment posted, balance low, ...) appended in the same
transaction as the change they describe.  ``notifications`` reads them after commit; nothing
updates or deletes them (database triggers refuse it), so a crash can never lose or invent one.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Text, insert
from sqlmodel import Field, Session, SQLModel

from billing.db import bulk_insert, timestamp_value

PAYMENT_POSTED = "payment_posted"
REFUND_CONFIRMED = "refund_confirmed"
INCIDENT_OPENED = "incident_opened"
LATE_FEE_POSTED = "late_fee_posted"  # a fee bill for an overdue bill (billing.late_fee_posting)
LATE_FEE_WAIVED = "late_fee_waived"  # a waiver approved (billing.waivers)


class Event(SQLModel, table=True):
    __tablename__ = "event"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40, index=True)
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    payload: str = Field(default="{}", sa_type=Text)
    created_at: datetime

    @property
    def data(self) -> dict:
        return json.loads(self.payload)


_INSERT = insert(Event.__table__)  # events are written on hot paths (every payment), never read back there


def emit(session: Session, kind: str, *, at: datetime, account_id: int | None = None, **payload: object) -> None:
    session.connection().execute(_INSERT, {
        "kind": kind, "account_id": account_id, "payload": _json(payload), "created_at": at,
    })


def emit_many(session: Session, happened: list[tuple[str, int | None, dict]], *, at: datetime) -> None:
    """Many events at once (kind, account id, payload each), by COPY on PostgreSQL: the bulk paths' ``emit``."""
    db = session.connection()
    created = timestamp_value(db, at)
    bulk_insert(db, Event.__table__, ("kind", "account_id", "payload", "created_at"),
                [(kind, account_id, _json(payload), created) for kind, account_id, payload in happened])


def _json(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False, default=str)
