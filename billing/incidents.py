"""Incidents: things a person must look at (a ledger conflict, a payment that does not add up).

An incident records what happened and changes no balance; a staff decision closes it.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import CheckConstraint, Text
from sqlmodel import Field, Session, SQLModel, select

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


def open_incidents(session: Session, kind: str | None = None) -> list[Incident]:
    query = select(Incident).where(Incident.status == OPEN).order_by(Incident.id)
    if kind is not None:
        query = query.where(Incident.kind == kind)
    return list(session.exec(query))
