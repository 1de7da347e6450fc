"""Meter changes (换表) and multiplier changes (倍率), recorded so that energy across them counts.

A change on day D closes the account's open installation on D and opens the next from D.  The old
meter's final read and the new meter's initial read are both recorded on D (a final read replaces
that day's smart-meter freeze: it was taken when the meter came off), so the energy of any period
is counted on each meter once (``billing.meters.energy``).  What cannot be right is refused,
naming the field: a change before the current installation began or after today, a final read
below the meter's last read, a meter number already in use, a multiplier below 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from billing.accounts import CUSTOMER_METER, DISTRICT_METER, MANUAL, SMART, Account, District, Meter
from billing.audit import audit
from billing.clock import beijing_date
from billing.errors import BillingError, InvalidInput
from billing.kwh import format_kwh
from billing.meters import MeterInstallation, install, valid_read
from billing.reads import MANUAL_READ, REGISTERS, VALID, NewRead, Read, record_read

MAX_MULTIPLIER = 100_000
_METER_NO = re.compile(r"[A-Za-z0-9-]{1,24}")


class MeterChangeRefused(BillingError):
    """A change that cannot be right; ``field`` names the input, ``params`` what it contradicts."""

    code = "meter_change_refused"


@dataclass(frozen=True)
class Reading:
    """A meter's registers as read off its display, in Wh (尖峰平谷 for time-of-use meters)."""

    total_wh: int
    registers_wh: dict[str, int] = field(default_factory=dict)


def change_meter(session: Session, account: Account, *, on: date, old_final: Reading | None, new_meter_no: str,
                 new_initial: Reading, multiplier: int, staff_id: int, now: datetime, reason: str,
                 new_kind: str | None = None) -> MeterInstallation:
    """Replace the account's meter on ``on``; returns the new installation.  ``old_final`` None: the old
    meter's display is dead, and the check opens a review item for its final read to be estimated."""
    current = _open_installation(session, account)
    old = session.get(Meter, current.meter_id)
    _check_common(session, current, on=on, multiplier=multiplier, now=now, reason=reason, meter_removed=True)
    if old_final is not None:
        _check_final(session, old, on, old_final, "old_final")
    _check_registers(new_initial, "new_initial", required=False)
    if (new_kind or old.kind) not in (SMART, MANUAL):
        raise InvalidInput("new_kind", f"{SMART} or {MANUAL}, got {new_kind!r}")
    meter = _spare_meter(session, new_meter_no, kind=new_kind or old.kind, multiplier=multiplier, on=on,
                         tou=bool(new_initial.registers_wh))
    note = f"换表 {old.meter_no} -> {meter.meter_no}"
    if old_final is not None:
        _record(session, old.id, on, old_final, staff_id, now, f"{note} 拆表示数")
    _record(session, meter.id, on, new_initial, staff_id, now, f"{note} 装表示数")
    installation = _switch(session, current, meter.id, multiplier, on, now, staff_id, reason)
    account.meter_id = meter.id
    session.add(account)
    audit(session, staff_id=staff_id, action="meter_change", target=f"account:{account.account_no}", at=now,
          before={"meter_no": old.meter_no, "multiplier": current.multiplier, "installed_on": current.installed_on,
                  **_prefixed("final", old_final)},
          after={"meter_no": meter.meter_no, "multiplier": multiplier, "installed_on": on,
                 **_prefixed("initial", new_initial), "reason": reason})
    session.flush()
    return installation


def change_multiplier(session: Session, account: Account, *, on: date, reading: Reading | None, multiplier: int,
                      staff_id: int, now: datetime, reason: str) -> MeterInstallation:
    """Change the multiplier (a new current transformer) on ``on``: the register read that day
    (``reading``, or the day's read already held) ends one installation and begins the next."""
    current = _open_installation(session, account)
    meter = session.get(Meter, current.meter_id)
    _check_common(session, current, on=on, multiplier=multiplier, now=now, reason=reason, meter_removed=False)
    if multiplier == current.multiplier:
        raise MeterChangeRefused("the multiplier is already that", field="multiplier", current=current.multiplier)
    if reading is None:
        held = valid_read(session, meter.id, on)
        if held is None:
            raise InvalidInput("reading", f"no read of meter {meter.meter_no} on {on}: enter it")
        reading = Reading(held.total_wh, _registers(held))
    _check_final(session, meter, on, reading, "reading")
    _record(session, meter.id, on, reading, staff_id, now, f"倍率 {current.multiplier} -> {multiplier}")
    installation = _switch(session, current, meter.id, multiplier, on, now, staff_id, reason)
    meter.multiplier = multiplier
    session.add(meter)
    audit(session, staff_id=staff_id, action="multiplier_change", target=f"account:{account.account_no}", at=now,
          before={"meter_no": meter.meter_no, "multiplier": current.multiplier, "installed_on": current.installed_on},
          after={"meter_no": meter.meter_no, "multiplier": multiplier, "installed_on": on,
                 "read_wh": reading.total_wh, "reason": reason})
    session.flush()
    return installation


def _open_installation(session: Session, account: Account) -> MeterInstallation:
    current = session.exec(select(MeterInstallation).where(MeterInstallation.account_id == account.id,
                                                           MeterInstallation.removed_on.is_(None))).first()
    if current is None:
        raise MeterChangeRefused(f"account {account.account_no} has no meter installed", field="account_no")
    return current


def _check_common(session: Session, current: MeterInstallation, *, on: date, multiplier: object, now: datetime,
                  reason: str, meter_removed: bool) -> None:
    """The day is after the installation began and not after today; a meter taken off has no reads
    after it (a multiplier change recorded late keeps the reads the same meter sent since)."""
    if not reason.strip():
        raise InvalidInput("change_reason", "say why the meter or multiplier changed")
    if isinstance(multiplier, bool) or not isinstance(multiplier, int) or not 1 <= multiplier <= MAX_MULTIPLIER:
        raise InvalidInput("multiplier", f"a whole number from 1 to {MAX_MULTIPLIER}, got {multiplier!r}",
                           maximum=MAX_MULTIPLIER)
    last = _last_read(session, current.meter_id, after=current.installed_on) if meter_removed else None
    earliest = max(current.installed_on + timedelta(days=1), last.read_on if last else current.installed_on)
    today = beijing_date(now)
    if not earliest <= on <= today:
        raise MeterChangeRefused(f"the change day must be from {earliest} to {today}", field="on",
                                 earliest=earliest.isoformat(), today=today.isoformat(),
                                 installed_on=current.installed_on.isoformat())


def _check_final(session: Session, meter: Meter, on: date, final: Reading, field_name: str) -> None:
    """The register never runs backwards: the final read is at least the last read before the day."""
    last = _last_read(session, meter.id, before=on)
    if last is not None and final.total_wh < last.total_wh:
        # shown as the least the display may read (10 Wh steps, rounded up): rounded half-up, a last read of
        # 7534.704 kWh would show as 7534.70, the very value refused
        least = -(-last.total_wh // 10) * 10
        raise MeterChangeRefused(f"{final.total_wh} Wh is below the last read {last.total_wh} Wh on {last.read_on}",
                                 field=field_name, final=format_kwh(final.total_wh), last=format_kwh(least),
                                 last_on=last.read_on.isoformat())
    _check_registers(final, field_name, required=last is not None and bool(_registers(last)))


def _check_registers(reading: Reading, field_name: str, *, required: bool) -> None:
    """A time-of-use meter's registers are each given and add up to its total (to 10 Wh each, the
    display's last digit)."""
    given = reading.registers_wh
    if not given and not required:
        return
    adds_up = abs(sum(given.values()) - reading.total_wh) <= 10 * len(given)
    if not given or not adds_up or set(given) - set(REGISTERS):
        raise MeterChangeRefused("the 尖峰平谷 registers must be given and add up to the total",
                                 field=f"{field_name}_registers", total=format_kwh(reading.total_wh))


def _last_read(session: Session, meter_id: int, *, before: date | None = None, after: date | None = None) -> Read | None:
    query = select(Read).where(Read.meter_id == meter_id, Read.status == VALID)
    if before is not None:
        query = query.where(Read.read_on < before)
    if after is not None:
        query = query.where(Read.read_on >= after)
    return session.exec(query.order_by(Read.read_on.desc())).first()


def _spare_meter(session: Session, meter_no: str, *, kind: str, multiplier: int, on: date, tou: bool) -> Meter:
    """The new meter: a meter in stock under that number, or a new one; never one in use."""
    meter_no = meter_no.strip() if isinstance(meter_no, str) else ""
    if not _METER_NO.fullmatch(meter_no):
        raise InvalidInput("new_meter_no", "1 to 24 letters, digits or '-'")
    meter = session.exec(select(Meter).where(Meter.meter_no == meter_no)).first()
    if meter is None:
        meter = Meter(meter_no=meter_no, kind=kind, role=CUSTOMER_METER, multiplier=multiplier, tou=tou, installed_on=on)
    elif _in_use(session, meter):
        raise MeterChangeRefused(f"meter {meter_no} is in use", field="new_meter_no", meter_no=meter_no)
    else:
        meter.multiplier, meter.installed_on, meter.tou = multiplier, on, tou
    session.add(meter)
    session.flush()
    return meter


def _in_use(session: Session, meter: Meter) -> bool:
    if meter.role == DISTRICT_METER:
        return True
    serving = select(MeterInstallation.id).where(MeterInstallation.meter_id == meter.id,
                                                 MeterInstallation.removed_on.is_(None))
    current = select(Account.id).where(Account.meter_id == meter.id)
    supply = select(District.id).where(District.district_meter_id == meter.id)
    return any(session.exec(query).first() is not None for query in (serving, current, supply))


def _record(session: Session, meter_id: int, on: date, reading: Reading, staff_id: int, now: datetime, note: str) -> None:
    new = NewRead(meter_id, on, MANUAL_READ, reading.total_wh, dict(reading.registers_wh), reader_id=staff_id, note=note)
    held = valid_read(session, meter_id, on)
    record_read(session, new, now=now, replace=held is not None and not new.same_values(held))


def _switch(session: Session, current: MeterInstallation, meter_id: int, multiplier: int, on: date, now: datetime,
            staff_id: int, reason: str) -> MeterInstallation:
    current.removed_on = on
    session.add(current)
    session.flush()  # one open installation per account: close before opening
    return install(session, account_id=current.account_id, meter_id=meter_id, multiplier=multiplier, on=on, now=now,
                   reason=reason, staff_id=staff_id)


def _registers(read: Read) -> dict[str, int]:
    return {name: getattr(read, f"{name}_wh") for name in REGISTERS if getattr(read, f"{name}_wh") is not None}


def _prefixed(prefix: str, reading: Reading | None) -> dict[str, int | None]:
    if reading is None:
        return {f"{prefix}_wh": None}
    return {f"{prefix}_wh": reading.total_wh} | {f"{prefix}_{name}_wh": v for name, v in reading.registers_wh.items()}
