"""What notifications keep: each resident's preferences, the delivery log, and the outbox cursor.

The delivery log (``message``) is also the queue: a message is queued with the time it may go out,
claimed by one dispatcher, then sent, delivered or failed, with the provider's id and receipt.
``dedupe_key`` is unique, so an event read twice (a rerun, a second dispatcher) queues nothing twice.
Dunning cites a ``delivered`` row as the evidence that a notice reached the account holder.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Text
from sqlmodel import Field, SQLModel

QUEUED, SENDING, SENT, DELIVERED, FAILED = "queued", "sending", "sent", "delivered", "failed"
STATUSES = (QUEUED, SENDING, SENT, DELIVERED, FAILED)


class Preference(SQLModel, table=True):
    """How a resident wants to hear from us; a resident with no row gets the defaults."""

    __tablename__ = "notification_preference"

    resident_id: int = Field(foreign_key="resident.id", primary_key=True)
    sms: bool = True
    wechat: bool = True
    optional: bool = True  # reminders and receipts; required notices ignore it
    lang: str = Field(default="zh", max_length=5)
    # The resident's own quiet hours (Beijing, whole hours) for optional messages, within the company's 22-08.
    quiet_from_hour: int = Field(default=22, sa_column_kwargs={"server_default": "22"})
    quiet_until_hour: int = Field(default=8, sa_column_kwargs={"server_default": "8"})


class Message(SQLModel, table=True):
    __tablename__ = "message"
    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES}", name="status"),
        Index("ix_message_due", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=100, unique=True)  # event:<id>:<recipient>:<channel>, login:<id>, ...
    event_id: int | None = Field(default=None, foreign_key="event.id")
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    resident_id: int | None = Field(default=None, foreign_key="resident.id")
    kind: str = Field(max_length=30)
    channel: str = Field(max_length=10)
    address: str = Field(max_length=64)
    lang: str = Field(max_length=5)
    params: str = Field(sa_type=Text)  # JSON of the template's parameters
    status: str = Field(default=QUEUED, max_length=10)
    attempts: int = 0
    due_at: datetime  # not before: quiet hours and retry backoff move it
    claimed_at: datetime | None = None  # a dispatcher took it; a stale claim (crash) is taken again
    created_at: datetime
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    provider_ref: str = Field(default="", max_length=64, index=True)
    receipt: str = Field(default="", max_length=200)  # the provider's delivery report, as it said it
    error: str = Field(default="", max_length=200)


class Cursor(SQLModel, table=True):
    """How far a consumer has read the event outbox."""

    __tablename__ = "outbox_cursor"

    name: str = Field(max_length=30, primary_key=True)
    event_id: int = 0
