"""The dunning ladder's history: one row per step an account went through, in a case.

A case opens with a disconnection notice (or, for a protected account, a hold for staff) and
closes when the arrears are cleared or supply is restored.  (account, case, step) is unique, so a
rerun of the ladder takes no step twice; each step also writes an event on the account.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

# Steps, in ladder order; each is also the kind of the event it writes.
DUE_SOON, OVERDUE = "bill_due_soon", "bill_overdue"  # per bill, case "bill:<id>"
NOTICE, PROTECTED = "disconnection_notice", "protected_hold"  # open a case
CALL, UNDELIVERED, PRE_CUT = "call_task", "notice_undelivered", "pre_cut_notice"
ORDERED, CLEARED, RECONNECT = "disconnection_ordered", "arrears_cleared", "reconnection_ordered"
OPENING, CLOSING = (NOTICE, PROTECTED), (CLEARED, RECONNECT)
NOTICE_DELIVERED = "notice_delivered"  # an event notifications writes when a written notice reached the holder


class DunningStep(SQLModel, table=True):
    __tablename__ = "dunning_step"
    __table_args__ = (UniqueConstraint("account_id", "case_ref", "step"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    case_ref: str = Field(max_length=40)  # bill:<id> (post-paid), prepaid:<day> (智能交费)
    step: str = Field(max_length=30)
    at: datetime
    due_at: datetime | None = None  # the planned cut (a notice), the restore deadline (a reconnection)
    detail: str = Field(default="{}", sa_type=Text)  # JSON: amounts, cut time, order method
