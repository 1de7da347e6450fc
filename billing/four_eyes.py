"""Four eyes: one staff member asks, another decides.  The rule shared by the approvals that move
money (核销 of a 对账 difference, of a bad debt): the request's columns and CHECKs, and the checks
made in code before a decision, so that the database and the code refuse the same thing.

    requested -> approved | rejected
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CheckConstraint, select
from sqlmodel import Field, Session, SQLModel

from billing.audit import audit
from billing.errors import BillingError, NotFound, PermissionDenied
from billing.review_queue import MAX_ID

REQUESTED, APPROVED, REJECTED = "requested", "approved", "rejected"


class FourEyes(SQLModel):
    """The columns of a request that a second person decides; a table adds ``checks()``."""

    status: str = Field(default=REQUESTED, max_length=10, index=True)
    requested_by: int = Field(foreign_key="staff_user.id")
    requested_at: datetime
    approved_by: int | None = Field(default=None, foreign_key="staff_user.id")  # who decided, either way
    approved_at: datetime | None = None


def checks() -> tuple[CheckConstraint, CheckConstraint]:
    return (CheckConstraint("status IN ('requested', 'approved', 'rejected')", name="status"),
            CheckConstraint("approved_by IS NULL OR approved_by <> requested_by", name="four_eyes"))


def locked(session: Session, model: type[SQLModel], row_id: object, *, field: str, what: str):
    """The row of ``model`` with id ``row_id``, locked, or ``NotFound`` naming ``field``."""
    row = (session.execute(select(model).where(model.id == row_id).with_for_update()).scalar()
           if isinstance(row_id, int) and 0 < row_id <= MAX_ID else None)
    if row is None:
        raise NotFound(f"no {what} {row_id}", field=field)
    return row


def require_decidable(request: FourEyes, *, staff_id: int, what: str, not_allowed: type[BillingError],
                      approver_field: str) -> None:
    """Refuse a decision on a request that is not waiting for one, or that its own requester makes."""
    if request.status != REQUESTED:
        raise not_allowed(f"{what} is {request.status}, not waiting for a decision", field="state")
    if request.requested_by == staff_id:
        raise PermissionDenied(f"{what} needs a second person to decide it", field=approver_field)


@dataclass(frozen=True)
class Kind:
    """What is decided: its table, its names in errors and the audit log, and what approval does."""

    model: type[FourEyes]
    what: str  # in messages: "write-off"
    field: str  # the id's field in errors: "write_off_id"
    action: str  # audited as approve_<action> / reject_<action>
    not_allowed: type[BillingError]
    target: Callable[[Session, FourEyes], str]  # the audit entry's target
    snapshot: Callable[[FourEyes], dict]
    approve: Callable[[Session, FourEyes, datetime], None]  # moves the money; raises to refuse
    approver_field: str = "write_off_approver"


def decide(session: Session, kind: Kind, request_id: object, *, staff_id: int, approve: bool, now: datetime):
    """Approve or reject a waiting request, never one's own; audited either way."""
    request = locked(session, kind.model, request_id, field=kind.field, what=kind.what)
    require_decidable(request, staff_id=staff_id, what=f"{kind.what} {request.id}", not_allowed=kind.not_allowed,
                      approver_field=kind.approver_field)
    before = kind.snapshot(request)
    if approve:
        kind.approve(session, request, now)
    request.status, request.approved_by, request.approved_at = (APPROVED if approve else REJECTED), staff_id, now
    session.add(request)
    session.flush()
    audit(session, staff_id=staff_id, action=f"{'approve' if approve else 'reject'}_{kind.action}",
          target=kind.target(session, request), at=now, before=before, after=kind.snapshot(request))
    return request
