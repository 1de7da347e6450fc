"""The review queue as reviewers page through it: open items, oldest first, filtered by district,
rule, kind and age; and one item with its evidence (the meter's reads around the flagged day, or
a district's daily line loss; what the item's audit trail says, whom a re-read went to).

An item's age is counted in days from the day it is about (``subject_on``), which is also the
queue's order: the oldest problem first, whenever the check that found it ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from billing.accounts import Account, District, Meter
from billing.audit import AuditEntry
from billing.errors import NotFound
from billing.line_loss import DAY, DistrictLoss
from billing.meters import MeterInstallation
from billing.money import round_half_up
from billing.reads import VALID, Read
from billing.review import OPEN, ReviewItem
from billing.staff import StaffUser

PER_PAGE = 30
MAX_ID = 2**31 - 1  # ids are INTEGER: a larger number names nothing (and would overflow the query)
WINDOW_DAYS = 60  # the read history shown with an item
AFTER_DAYS = 7  # and the days after the flagged one, where a misread shows as well


@dataclass(frozen=True)
class QueueFilter:
    district_id: int | None = None
    rule: str | None = None
    kind: str | None = None
    min_age_days: int | None = None


@dataclass(frozen=True)
class QueueRow:
    item: ReviewItem
    account_no: str | None
    district: str | None
    meter_no: str | None
    age_days: int


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class QueueChoices:
    """What the filters can choose from: the districts, rules and kinds of the open items."""

    districts: list[District]
    rules: list[str]
    kinds: list[str]


def _district_id():
    """A district finding names its district; a meter finding's district is its account's."""
    return func.coalesce(ReviewItem.district_id, Account.district_id)


def _open(query, filters: QueueFilter, today: date):
    query = query.outerjoin(Account, Account.id == ReviewItem.account_id).where(ReviewItem.status == OPEN)
    if filters.district_id is not None:
        query = query.where(_district_id() == filters.district_id)
    if filters.rule:
        query = query.where(ReviewItem.rule == filters.rule)
    if filters.kind:
        query = query.where(ReviewItem.kind == filters.kind)
    if filters.min_age_days is not None:
        query = query.where(ReviewItem.subject_on <= today - timedelta(days=filters.min_age_days))
    return query


def queue(session: Session, filters: QueueFilter, *, today: date, page: int = 1, per_page: int = PER_PAGE) -> QueuePage:
    total = session.exec(_open(select(func.count(ReviewItem.id)), filters, today)).one()
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    query = _open(select(ReviewItem, Account.account_no, District.name, Meter.meter_no), filters, today)
    query = (query.outerjoin(District, District.id == _district_id()).outerjoin(Meter, Meter.id == ReviewItem.meter_id)
             .order_by(ReviewItem.subject_on, ReviewItem.id).offset((page - 1) * per_page).limit(per_page))
    rows = [QueueRow(item, account_no, district, meter_no, (today - item.subject_on).days)
            for item, account_no, district, meter_no in session.exec(query)]
    return QueuePage(rows, total, page, pages)


def find_item(session: Session, item_id: int, *, lock: bool = False) -> ReviewItem:
    query = select(ReviewItem).where(ReviewItem.id == item_id)
    item = session.exec(query.with_for_update() if lock else query).first() if 0 < item_id <= MAX_ID else None
    if item is None:
        raise NotFound(f"no review item {item_id}", field="item")
    return item


def next_open(session: Session, item: ReviewItem) -> int | None:
    """The open item after ``item`` in queue order (the first one, once ``item`` is decided)."""
    later = (ReviewItem.subject_on > item.subject_on) | ((ReviewItem.subject_on == item.subject_on)
                                                          & (ReviewItem.id > item.id))
    query = select(ReviewItem.id).where(ReviewItem.status == OPEN, ReviewItem.id != item.id)
    return (session.exec(query.where(later).order_by(ReviewItem.subject_on, ReviewItem.id)).first()
            or session.exec(query.order_by(ReviewItem.subject_on, ReviewItem.id)).first())


def rereads_for(session: Session, reader_id: int) -> list[ReviewItem]:
    """The re-reads a reader has been sent on and not yet brought back, oldest first (their phone
    lists these; recording the read then goes through ``review_actions.reread_done``)."""
    return list(session.exec(select(ReviewItem).where(ReviewItem.status == OPEN, ReviewItem.assigned_to == reader_id)
                             .order_by(ReviewItem.subject_on, ReviewItem.id)))


def choices(session: Session) -> QueueChoices:
    open_ = _open(select(_district_id()), QueueFilter(), date.min)
    district_ids = {district_id for district_id in session.exec(open_.distinct()) if district_id is not None}
    districts = session.exec(select(District).where(District.id.in_(district_ids)).order_by(District.code)).all()
    rules = session.exec(select(ReviewItem.rule).where(ReviewItem.status == OPEN).distinct()).all()
    kinds = session.exec(select(ReviewItem.kind).where(ReviewItem.status == OPEN).distinct()).all()
    return QueueChoices(list(districts), sorted(rules), sorted(kinds))


@dataclass(frozen=True)
class Interval:
    """Use between two consecutive valid reads: ``daily_wh`` is the energy per day over it."""

    start: date
    end: date
    used_wh: int
    flagged: bool

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def daily_wh(self) -> int:
        return round_half_up(self.used_wh, self.days)


@dataclass
class Evidence:
    item: ReviewItem
    day: date
    account: Account | None = None
    district: District | None = None
    meter: Meter | None = None
    flagged: Read | None = None  # the read the finding is about
    held: Read | None = None  # the valid read of the day now (the flagged one, or what replaced it)
    reads: list[Read] = field(default_factory=list)  # valid reads around the day, oldest first
    intervals: list[Interval] = field(default_factory=list)
    losses: list[DistrictLoss] = field(default_factory=list)  # a district finding: its daily loss around the day
    trail: list[tuple[AuditEntry, str]] = field(default_factory=list)  # with who
    names: dict[int, str] = field(default_factory=dict)  # staff id -> name, for the item's people


def evidence(session: Session, item: ReviewItem, day: date) -> Evidence:
    """What a reviewer looks at before deciding ``item`` about ``day``."""
    found = Evidence(item=item, day=day, account=session.get(Account, item.account_id) if item.account_id else None,
                     meter=session.get(Meter, item.meter_id) if item.meter_id else None,
                     flagged=session.get(Read, item.read_id) if item.read_id else None)
    district_id = item.district_id or (found.account.district_id if found.account else None)
    found.district = session.get(District, district_id) if district_id else None
    if found.meter is not None:
        found.reads = _window(session, found.meter.id, day)
        found.held = next((read for read in found.reads if read.read_on == day), None)
        found.intervals = intervals(session, found.meter, found.reads, day)
    elif found.district is not None and found.account is None:  # a finding about the district itself
        found.losses = _daily_losses(session, found.district.id, day)
    found.trail = trail(session, [item.id])[item.id]
    people = [item.assigned_to, item.ordered_by, item.resolved_by]
    found.names = staff_names(session, [person for person in people if person])
    return found


def _daily_losses(session: Session, district_id: int, day: date) -> list[DistrictLoss]:
    first, last = day - timedelta(days=WINDOW_DAYS - AFTER_DAYS), day + timedelta(days=AFTER_DAYS)
    return list(session.exec(select(DistrictLoss).where(
        DistrictLoss.district_id == district_id, DistrictLoss.period == DAY, DistrictLoss.starts_on >= first,
        DistrictLoss.starts_on <= last).order_by(DistrictLoss.starts_on)))


def _window(session: Session, meter_id: int, day: date) -> list[Read]:
    first, last = day - timedelta(days=WINDOW_DAYS - AFTER_DAYS), day + timedelta(days=AFTER_DAYS)
    valid = select(Read).where(Read.meter_id == meter_id, Read.status == VALID)
    reads = list(session.exec(valid.where(Read.read_on >= first, Read.read_on <= last).order_by(Read.read_on)))
    earlier = session.exec(valid.where(Read.read_on < first).order_by(Read.read_on.desc())).first()
    return [earlier, *reads] if earlier else reads  # a monthly-read meter's interval into the window


def intervals(session: Session, meter: Meter, reads: list[Read], day: date) -> list[Interval]:
    """Energy between consecutive reads (times the multiplier of the installation at the time);
    those touching ``day`` are flagged."""
    spans = session.exec(select(MeterInstallation).where(MeterInstallation.meter_id == meter.id)).all()

    def multiplier(on: date) -> int:
        return next((span.multiplier for span in spans
                     if span.installed_on <= on and (span.removed_on is None or on < span.removed_on)), meter.multiplier)

    return [Interval(first.read_on, second.read_on, (second.total_wh - first.total_wh) * multiplier(first.read_on),
                     day in (first.read_on, second.read_on))
            for first, second in zip(reads, reads[1:])]


def trail(session: Session, item_ids: list[int]) -> dict[int, list[tuple[AuditEntry, str]]]:
    """Each item's audit entries, oldest first, with the name of who acted."""
    targets = {f"review:{item_id}": item_id for item_id in item_ids}
    found: dict[int, list[tuple[AuditEntry, str]]] = {item_id: [] for item_id in item_ids}
    if not targets:
        return found
    rows = session.exec(select(AuditEntry, StaffUser.name).join(StaffUser, StaffUser.id == AuditEntry.staff_id)
                        .where(AuditEntry.target.in_(targets)).order_by(AuditEntry.at, AuditEntry.id))
    for entry, name in rows:
        found[targets[entry.target]].append((entry, name))
    return found


def staff_names(session: Session, staff_ids: list[int]) -> dict[int, str]:
    if not staff_ids:
        return {}
    return dict(session.exec(select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(set(staff_ids)))).all())
