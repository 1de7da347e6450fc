"""Incidents: things a person must look at (a ledger conflict, a payment that does not add up).

An incident records what happened and changes no balance; a staff decision closes it.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import CheckConstraint, Text
from sqlmodel import Field, Session, SQLModel, select

from billing.audit import audit

OPEN, RESOLVED = "open", "resolved"


class Incident(SQLModel, table=True):
    __tablename__ = "incident"
    __table_args__ = (CheckConstraint("status IN ('open', 'resolved')", name="status"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40, index=True)
    ref: str = Field(max_length=120, index=True)
    detail: str = Field(default="{}", sa_type=Text)
    status: str = Field(default=OPEN, max_length=10)
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = Field(default=None, max_length=60)
    resolution: str | None = Field(default=None, max_length=400)

    @property
    def details(self) -> dict:
        return json.loads(self.detail)


def record_incident(session: Session, *, kind: str, ref: str, detail: dict, at: datetime) -> Incident:
    incident = Incident(kind=kind, ref=ref, detail=json.dumps(detail, ensure_ascii=False, default=str), created_at=at)
    session.add(incident)
    session.flush()
    return incident


def resolve_incident(session: Session, incident: Incident, *, staff_id: int | None, resolution: str,
                     at: datetime) -> None:
    """Close an incident: by a staff decision (audit-logged), or by the system (``staff_id=None``)
    when later facts settle it."""
    before = {"status": incident.status}
    incident.status, incident.resolved_at, incident.resolution = RESOLVED, at, resolution[:400]
    incident.resolved_by = "system" if staff_id is None else str(staff_id)
    session.add(incident)
    if staff_id is not None:
        audit(session, staff_id=staff_id, action="resolve_incident", target=f"incident:{incident.id}", at=at,
              before=before, after={"status": RESOLVED, "resolution": incident.resolution})


def open_incidents(session: Session, kind: str | None = None) -> list[Incident]:
    query = select(Incident).where(Incident.status == OPEN).order_by(Incident.id)
    if kind is not None:
        query = query.where(Incident.kind == kind)
    return list(session.exec(query))
