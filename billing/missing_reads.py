"""Estimating a day's missing reads in bulk (估抄), for when the head-end missed some meters.

Every smart meter in service that day (on an active account, or a district's supply meter) with no
valid read of the day gets an estimate from ``billing.estimation``.  Running it again estimates
nothing twice (a meter with a read, estimated or not, is left alone); a meter with too little
history is reported, not fatal.  When the actual read arrives (an AMI import, a reader's visit) it
supersedes the estimate and the difference is carried into the next bill.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, union
from sqlmodel import Session, select

from billing.accounts import ACTIVE, SMART, Account, District, Meter
from billing.estimation import CannotEstimate, estimate_read
from billing.meters import MeterInstallation
from billing.reads import VALID, Read

NOTE = "批量估抄 bulk estimate"


@dataclass(frozen=True)
class EstimateRun:
    day: date
    estimated: tuple[int, ...] = ()  # meter ids
    already_read: int = 0
    cannot: tuple[tuple[str, str], ...] = ()  # (meter number, why)


def estimate_missing_reads(session: Session, day: date, *, now: datetime) -> EstimateRun:
    in_service = meters_in_service(day)
    numbers = dict(session.exec(select(in_service.c.id, in_service.c.meter_no)).all())
    held = set(session.exec(select(Read.meter_id).where(Read.read_on == day, Read.status == VALID,
                                                        Read.meter_id.in_(select(in_service.c.id)))).all())
    estimated, cannot = [], []
    for meter_id in sorted(set(numbers) - held):
        try:
            estimate_read(session, meter_id, day, now=now, note=NOTE)
        except CannotEstimate as error:
            cannot.append((numbers[meter_id], error.message))
        else:
            estimated.append(meter_id)
    return EstimateRun(day, tuple(estimated), len(held), tuple(cannot))


def meters_in_service(day: date, *, any_status: bool = False):
    """(id, number) of the smart meters that should have a read of ``day``: those installed on an
    active account that day (a meter removed that day has its final read from the change), and the
    districts' supply meters.  ``any_status``: on any account, as a head-end reports them (a vacant
    flat's meter still sends its freeze; it is only not worth estimating)."""
    customers = (select(Meter.id, Meter.meter_no)
                 .join(MeterInstallation, MeterInstallation.meter_id == Meter.id)
                 .join(Account, Account.id == MeterInstallation.account_id)
                 .where(Meter.kind == SMART, MeterInstallation.installed_on <= day,
                        or_(MeterInstallation.removed_on.is_(None), MeterInstallation.removed_on > day)))
    if not any_status:
        customers = customers.where(Account.status == ACTIVE)
    supply = (select(Meter.id, Meter.meter_no).join(District, District.district_meter_id == Meter.id)
              .where(Meter.kind == SMART, Meter.installed_on <= day))
    return union(customers, supply).subquery()
