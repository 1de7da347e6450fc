"""Test data for the reader's phone: a reader, a hand-read meter with three months of history on a
route of theirs, and a re-read order.  The history uses 10 kWh a day, so on the test day
(2026-11-27, 30 days after the last read of 700 kWh) the expected read is 1000 kWh and the range
(50 % to 200 % of the expected use) is 850 to 1300 kWh."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, select

from billing.accounts import MANUAL, Account, Meter
from billing.reads import MANUAL_READ, NewRead, record_read
from billing.meters import installations
from billing.review import open_item
from billing.review_actions import order_reread
from billing.routes import ReadRoute, ReadRouteMeter
from billing.staff import StaffUser, add_staff
from tests import factories

TODAY = date(2026, 11, 27)
HISTORY = ((date(2026, 8, 29), 100_000), (date(2026, 9, 28), 400_000), (date(2026, 10, 28), 700_000))
LOW_WH, EXPECTED_WH, HIGH_WH = 850_000, 1_000_000, 1_300_000


def reader(session: Session, username: str = "reader1"):
    return add_staff(session, username=username, name="王建国", password="demo1234", roles=["reader"])


def manual_account(session: Session, clock, *, tou: bool = False, history=HISTORY, **fields) -> Account:
    account = factories.account(session, at=clock(), address="城关镇幸福路1号", holder_name="李小荣", **fields)
    meter = session.get(Meter, account.meter_id)
    meter.kind, meter.tou = MANUAL, tou
    session.add(meter)
    for installation in installations(session, account.id):  # the meter was in before its first read
        installation.installed_on = min([installation.installed_on, *(day for day, _ in history)])
        session.add(installation)
    for day, total in history:
        registers = {"peak": total * 6 // 10, "valley": total - total * 6 // 10} if tou else {}
        record_read(session, NewRead(meter.id, day, MANUAL_READ, total, registers), now=clock())
    session.flush()
    return account


def route(session: Session, reader_id: int | None, accounts: list[Account], *, read_day: int = TODAY.day,
          code: str = "CB-T1") -> ReadRoute:
    row = ReadRoute(code=code, name="测试抄表段", reader_id=reader_id, read_day=read_day)
    session.add(row)
    session.flush()
    session.add_all(ReadRouteMeter(route_id=row.id, meter_id=account.meter_id, position=n)
                    for n, account in enumerate(accounts, start=1))
    session.flush()
    return row


def reread_order(session: Session, clock, account: Account, reader_id: int, *, on: date = TODAY - timedelta(days=1)):
    """A finding a reviewer sent back to the reader (the item stays open, assigned to them)."""
    item_id = open_item(session, kind="read", rule="high_use", subject_on=on, at=clock(), meter_id=account.meter_id,
                        account_id=account.id, district_id=account.district_id)
    return order_reread(session, item_id, staff_id=_reviewer(session).id, reader_id=reader_id, now=clock(),
                        note="日用电量突增")


def _reviewer(session: Session) -> StaffUser:
    found = session.exec(select(StaffUser).where(StaffUser.username == "reviewer1")).first()
    return found or add_staff(session, username="reviewer1", name="李秀英", password="demo1234", roles=["reviewer"])
