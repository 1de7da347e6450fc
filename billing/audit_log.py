"""The audit log as staff read it: filtered by who acted, the action, an account (its targets, see
``account_story.account_targets``) and a range of Beijing days; one page at a time, newest first."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from billing.audit import AuditEntry
from billing.clock import from_beijing
from billing.money import format_yuan
from billing.staff import StaffUser

PER_PAGE = 50


@dataclass(frozen=True)
class AuditFilter:
    staff_id: int | None = None
    action: str | None = None
    targets: object | None = None  # a select of target strings: one account's
    first: date | None = None  # Beijing days, both included
    last: date | None = None


@dataclass(frozen=True)
class Change:
    """One field of a before/after pair, as text."""

    field: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class AuditPage:
    rows: list[tuple[AuditEntry, str]]  # with who acted
    total: int
    page: int
    pages: int


def _where(wanted: AuditFilter) -> list:
    where = []
    if wanted.staff_id is not None:
        where.append(AuditEntry.staff_id == wanted.staff_id)
    if wanted.action:
        where.append(AuditEntry.action == wanted.action)
    if wanted.targets is not None:
        where.append(AuditEntry.target.in_(select(wanted.targets.subquery().c.target)))
    if wanted.first:
        where.append(AuditEntry.at >= from_beijing(datetime.combine(wanted.first, time())))
    if wanted.last:
        where.append(AuditEntry.at < from_beijing(datetime.combine(wanted.last + timedelta(days=1), time())))
    return where


def entries(session: Session, wanted: AuditFilter, *, page: int = 1, per_page: int = PER_PAGE) -> AuditPage:
    where = _where(wanted)
    total = session.exec(select(func.count()).select_from(AuditEntry).where(*where)).one()
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = session.exec(select(AuditEntry, StaffUser.name).join(StaffUser, StaffUser.id == AuditEntry.staff_id)
                        .where(*where).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                        .offset((page - 1) * per_page).limit(per_page))
    return AuditPage([(entry, name) for entry, name in rows], total, page, pages)


def actions(session: Session) -> list[str]:
    """The actions the log holds, for the filter's choices."""
    return list(session.exec(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


def actors(session: Session) -> list[tuple[int, str, str]]:
    """(id, username, name) of every member of staff, by username."""
    return [tuple(row) for row in session.exec(select(StaffUser.id, StaffUser.username, StaffUser.name)
                                               .order_by(StaffUser.username))]


def _text(name: str, value) -> str:
    """A value as a person reads it: money in yuan, lists joined, nothing as a dash."""
    if value is None:
        return "—"
    if name.endswith("_fen") and isinstance(value, int) and not isinstance(value, bool):
        return f"{format_yuan(value)} 元"
    if isinstance(value, list):
        return ", ".join(_text("", item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def changes(entry: AuditEntry) -> list[Change]:
    """The entry's before and after side by side, field by field (a record created or removed has
    nothing on one side; a value that is not a mapping is shown whole)."""
    before, after = json.loads(entry.before or "null"), json.loads(entry.after or "null")
    if before is None and isinstance(after, dict):
        before = {}
    if after is None and isinstance(before, dict):
        after = {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [Change("", _text("", before), _text("", after))]
    fields = list(before) + [name for name in after if name not in before]
    return [Change(name, _text(name, before.get(name)), _text(name, after.get(name))) for name in fields]
