"""What the dashboard shows each member of staff: the work of their own roles (``roles.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, func, select

from billing import collections, review_queue, supply_order_records, supply_orders, waivers
from billing.clock import beijing_date
from billing.incidents import Incident, open_incidents
from billing.reader_day import ReaderDay, reader_day
from billing.supply_order_records import SupplyOrder
from billing.waivers import Waiver
from notifications.records import FAILED, Message
from payments import counter, differences, refunds, write_offs
from payments.refunds import Refund
from portal.staff.incident_text import describe_all
from portal.staff.roles import (
    COLLECTIONS, COUNTER, DECIDE_REFUND, DECIDE_WAIVER, INCIDENTS, READ_METERS, RECONCILE, REQUEST_REFUND, REVIEW,
    may,
)

SHOWN = 10  # rows per list; the full lists are a click away


@dataclass
class Work:
    incidents: list[Incident] = field(default_factory=list)  # finance: open incidents ...
    open_incidents: int = 0
    sentences: dict[int, str] = field(default_factory=dict)  # ... as sentences
    awaiting: list[Refund] = field(default_factory=list)  # finance: refunds waiting for approval
    drawer: counter.Drawer | None = None  # cashier: today's takings, and the close if done
    asked: list[Refund] = field(default_factory=list)  # refunds this person asked for
    reading: ReaderDay | None = None  # reader: today's meters and re-read orders
    review: review_queue.QueuePage | None = None  # reviewer: the oldest open items of the queue
    waivers_to_decide: int = 0  # finance: late-fee waivers others asked for
    open_differences: int = 0  # finance: 对账 differences not yet worked off ...
    write_offs_to_decide: int = 0  # ... and write-offs others asked for
    debtors: int = 0  # collections: accounts in arrears ...
    needing_a_person: int = 0  # ... and cases the ladder leaves to staff
    failed_messages: int = 0  # ... messages that never reached the holder
    open_supply_orders: int = 0  # ... 停电/复电 orders still being worked ...
    supply_orders_waiting: int = 0  # ... of which field or escalated ones wait on a person


def work_for(session: Session, staff_id: int, roles: set[str], *, now: datetime) -> Work:
    work = Work()
    if may(roles, INCIDENTS):
        rows = open_incidents(session)
        work.open_incidents, work.incidents = len(rows), rows[:SHOWN]
        work.sentences = describe_all(session, work.incidents)
    if may(roles, DECIDE_REFUND):
        work.awaiting = list(session.exec(
            select(Refund).where(Refund.state == refunds.PROPOSED).order_by(Refund.id).limit(SHOWN)))
    if may(roles, COUNTER):
        work.drawer = counter.drawer(session, staff_id, beijing_date(now))
    if may(roles, REQUEST_REFUND):
        work.asked = list(session.exec(
            select(Refund).where(Refund.requested_by == staff_id).order_by(Refund.id.desc()).limit(SHOWN)))
    if may(roles, READ_METERS):
        work.reading = reader_day(session, staff_id, beijing_date(now))
    if may(roles, DECIDE_WAIVER):
        work.waivers_to_decide = session.exec(select(func.count()).select_from(Waiver).where(
            Waiver.state == waivers.PENDING, Waiver.requested_by != staff_id)).one()
    if may(roles, RECONCILE):
        work.open_differences = differences.open_count(session)
        work.write_offs_to_decide = sum(1 for asked in write_offs.waiting(session) if asked.requested_by != staff_id)
    if may(roles, COLLECTIONS):
        rows = collections.worklist(session, on=beijing_date(now))
        work.debtors, work.needing_a_person = len(rows), len(collections.needing_a_person(rows))
        work.failed_messages = session.exec(select(func.count()).select_from(Message).where(Message.status == FAILED)).one()
        work.open_supply_orders = session.exec(select(func.count()).select_from(SupplyOrder)
                                               .where(SupplyOrder.state.in_(supply_order_records.OPEN))).one()
        work.supply_orders_waiting = len(supply_orders.waiting_on_staff(session))
    if may(roles, REVIEW):
        work.review = review_queue.queue(session, review_queue.QueueFilter(), today=beijing_date(now), per_page=SHOWN)
    return work
