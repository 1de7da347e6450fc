"""Supply orders (停电/复电 orders): one row per disconnection or reconnection the dunning ladder
ordered, worked until the meter's switch is confirmed.

A smart meter's order goes to the metering head-end (``metering.orders`` works the queue); a manual
meter's is a field work order that staff confirm once the crew reports.  An order is never dropped:
a failed switch is retried with backoff, and after too many failures, or once a reconnection's
deadline has passed, it is escalated (an event staff see) and still retried.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

CUT, RESTORE = "cut", "restore"
REMOTE, FIELD = "remote", "field"  # a smart meter's switch, or a field work order
PENDING, SENT, CONFIRMED, FAILED, ESCALATED, CANCELLED = (
    "pending", "sent", "confirmed", "failed", "escalated", "cancelled")
STATES = (PENDING, SENT, CONFIRMED, FAILED, ESCALATED, CANCELLED)
OPEN = (PENDING, SENT, FAILED, ESCALATED)  # still to be worked (or confirmed by staff)

# Events on the account (billing.events): the resident hears of the first two.
CUT_DONE, RESTORE_DONE, ESCALATED_EVENT = "disconnected", "reconnected", "supply_order_escalated"


class SupplyOrder(SQLModel, table=True):
    __tablename__ = "supply_order"
    __table_args__ = (
        CheckConstraint(f"kind IN {(CUT, RESTORE)}", name="kind"),
        CheckConstraint(f"method IN {(REMOTE, FIELD)}", name="method"),
        CheckConstraint(f"state IN {STATES}", name="state"),
        Index("ix_supply_order_due", "state", "next_try_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    step_id: int = Field(foreign_key="dunning_step.id", unique=True)  # the ladder step that ordered it
    case_ref: str = Field(max_length=40)  # the dunning case: a cut and its restore share it
    kind: str = Field(max_length=10)
    method: str = Field(max_length=10)
    meter_no: str = Field(max_length=24)
    state: str = Field(default=PENDING, max_length=10)
    attempts: int = 0  # switch requests sent to the head-end
    next_try_at: datetime  # when the worker may act on it next
    deadline: datetime | None = None  # a restore's legal limit (the reconnection step's due_at)
    head_end_ref: str = Field(default="", max_length=64)
    error: str = Field(default="", max_length=200)  # the last failure, kept after a later success
    created_at: datetime
    sent_at: datetime | None = None
    confirmed_at: datetime | None = None
    escalated_at: datetime | None = None
    confirmed_by: int | None = Field(default=None, foreign_key="staff_user.id")  # a field order's staff member
