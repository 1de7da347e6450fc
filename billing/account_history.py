"""The whole story of an account's reads, for staff: which meters served it (换表 and 倍率 changes),
every read with its source and status (a superseded read with what replaced it), each change to a
read with who made it and why, the estimates and the differences carried when the actual came, and
the review items with their decisions.  Bills and payments join as sections of their own later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, false, func, or_
from sqlmodel import Session, select

from billing.accounts import Account, District, Meter, get_account
from billing.audit import AuditEntry
from billing.meters import MeterInstallation, installations
from billing.reads import ESTIMATED, EstimateCarry, Read
from billing.review import ReviewItem
from billing.review_queue import staff_names, trail

READS_PER_PAGE = 62


@dataclass(frozen=True)
class Change:
    """A read that replaced another: a correction, a re-read, an estimate, an actual for an estimate."""

    old: Read
    new: Read
    by: str  # who decided it (the reviewer), or whose visit it was
    reason: str


@dataclass
class History:
    account: Account
    district: District
    meters: dict[int, Meter]
    installations: list[MeterInstallation]
    reads: list[Read]  # one page, newest first
    page: int
    pages: int
    replaced_by: dict[int, Read]  # superseded read id -> the read that replaced it
    changes: list[Change]
    estimates: list[tuple[Read, EstimateCarry | None]]
    items: list[ReviewItem]
    trails: dict[int, list[tuple[AuditEntry, str]]]
    names: dict[int, str] = field(default_factory=dict)  # staff id -> name


def history(session: Session, account_no: str, *, page: int = 1, per_page: int = READS_PER_PAGE) -> History:
    account = get_account(session, account_no)
    spans = installations(session, account.id)
    mine = _served(spans)
    total = session.exec(select(func.count(Read.id)).where(mine)).one()
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    reads = list(session.exec(select(Read).where(mine).order_by(Read.read_on.desc(), Read.id.desc())
                              .offset((page - 1) * per_page).limit(per_page)))
    successors = list(session.exec(select(Read).where(mine, Read.supersedes_id.is_not(None))
                              .order_by(Read.received_at, Read.id)))
    items = list(session.exec(select(ReviewItem).where(_items_of(account, spans))
                              .order_by(ReviewItem.subject_on.desc(), ReviewItem.id.desc())))
    people = [person for item in items for person in (item.resolved_by, item.assigned_to, item.ordered_by) if person]
    people += [read.reader_id for read in reads + successors if read.reader_id]
    found = History(
        account=account, district=session.get(District, account.district_id),
        meters={meter.id: meter for meter in session.exec(select(Meter).where(Meter.id.in_({s.meter_id for s in spans})))},
        installations=spans, reads=reads, page=page, pages=pages,
        replaced_by={read.supersedes_id: read for read in successors}, changes=[],
        estimates=_estimates(session, mine), items=items, trails=trail(session, [item.id for item in items]),
        names=staff_names(session, people + [span.recorded_by for span in spans if span.recorded_by]))
    found.changes = _changes(session, successors, items, found.names)
    return found


def _served(spans: list[MeterInstallation]):
    """Reads of the meters while they served the account (the final read on the day of removal)."""
    return or_(false(), *(and_(Read.meter_id == span.meter_id, Read.read_on >= span.installed_on,
                      Read.read_on <= (span.removed_on or date.max)) for span in spans))


def _items_of(account: Account, spans: list[MeterInstallation]):
    meter_items = [and_(ReviewItem.account_id.is_(None), ReviewItem.meter_id == span.meter_id) for span in spans]
    return or_(ReviewItem.account_id == account.id, *meter_items)


def _changes(session: Session, successors: list[Read], items: list[ReviewItem], names: dict[int, str]) -> list[Change]:
    decided = {item.result_read_id: item for item in items if item.result_read_id}
    olds = {read.id: read for read in session.exec(select(Read).where(Read.id.in_([r.supersedes_id for r in successors])))}
    changes = []
    for new in successors:
        item = decided.get(new.id)
        by = item.resolved_by if item else new.reader_id
        changes.append(Change(olds[new.supersedes_id], new, names.get(by, ""), item.reason if item else new.note))
    return changes


def _estimates(session: Session, mine) -> list[tuple[Read, EstimateCarry | None]]:
    rows = session.exec(select(Read, EstimateCarry).outerjoin(EstimateCarry, EstimateCarry.estimated_read_id == Read.id)
                        .where(mine, Read.source == ESTIMATED).order_by(Read.read_on.desc()))
    return [(read, carry) for read, carry in rows]
