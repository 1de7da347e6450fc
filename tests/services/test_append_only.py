"""The event outbox and the audit log are append-only like the ledger: the database itself refuses
UPDATE and DELETE, on both databases, and the rows stay as written."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from billing import events
from billing.audit import AuditEntry, audit
from billing.db import read_session, unit_of_work
from billing.events import Event
from billing.staff import add_staff

STATEMENTS = {
    "event": ("UPDATE event SET payload = '{}'", "DELETE FROM event"),
    "audit_entry": ("UPDATE audit_entry SET action = 'nothing'", "DELETE FROM audit_entry"),
}


def _written(engine, clock) -> dict[str, list]:
    with unit_of_work(engine) as db:
        events.emit(db, events.PAYMENT_POSTED, at=clock(), amount_fen=100)
        staff = add_staff(db, username="finance9", name="财务九", password="long enough 123", roles=["finance"])
        db.flush()
        audit(db, staff_id=staff.id, action="refund.approve", target="refund:R1", at=clock(), after={"state": "approved"})
    return _rows(engine)


def _rows(engine) -> dict[str, list]:
    with read_session(engine) as db:
        return {"event": [(e.kind, e.payload) for e in db.exec(select(Event))],
                "audit_entry": [(a.action, a.target, a.after) for a in db.exec(select(AuditEntry))]}


@pytest.mark.parametrize("statement", [s for pair in STATEMENTS.values() for s in pair])
def test_events_and_audit_entries_cannot_be_changed_or_deleted(engine, clock, statement):
    before = _written(engine, clock)
    with pytest.raises(DBAPIError, match="append-only"):
        with unit_of_work(engine) as db:
            db.execute(text(statement))
    assert _rows(engine) == before
    assert all(before.values())
