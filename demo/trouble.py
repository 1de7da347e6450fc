"""Realistic trouble in the demo county, so that the review queue and the loss page have something to
show: misreads, a register rollover, a stopped meter, a vacant flat that uses power, a meter change,
a prepaid meter that failed to cut, a district losing too much and one with negative loss.

It edits the generated history as a head-end, a reader or a field crew would have left it, picking
its accounts by 户号 order among those no demo login or the property manager uses, so that it is as
deterministic as the county.  A smaller county gets what it has meters for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from billing import allocation, ledger
from billing.accounts import ACTIVE, MANUAL, PREPAID, RESIDENTIAL, SMART, VACANT, Account, District, Meter
from billing.clock import beijing_date
from billing.db import unit_of_work
from billing.ledger import Posting
from billing.line_loss import compute_loss
from billing.managers import ManagerAccount
from billing.meter_changes import Reading, change_meter
from billing.read_rules import ReadRules, check_reads
from billing.reads import REGISTERS, Read
from billing.residents import Binding
from billing.staff import StaffUser

THEFT_PERCENT = 12  # 城南二号台区 loses this much more from the 1st of last month: a line tapped
UNDER_READ = (2, 3)  # 河西三号台区's supply meter counts 2/3 for the last week: a CT misrecorded
TROUBLE_DAYS = {"glitch": 5, "stopped": 10, "change": 20, "dead": 15, "prepaid": 12, "under_read": 7}
REGISTER_WRAP_WH = 100_000_000  # 99999.99 kWh, then zero
_TOTAL = Read.__table__.c


@dataclass
class Candidate:
    account_id: int
    account_no: str
    meter_id: int
    meter_no: str


def add_trouble(session: Session, *, days: list[date], now: datetime) -> list[str]:
    """Put the trouble into the county just loaded; returns what was done, one phrase each."""
    smart, manual, prepaid = _candidates(session)
    done = []
    for action, pool in ((_misread_low, manual), (_rollover, manual), (_misread_high, manual), (_glitch, smart),
                         (_stopped, smart), (_vacant, smart), (_change, smart), (_dead_meter, smart),
                         (_no_cut, prepaid)):
        if pool:
            done.append(action(session, pool.pop(0), days, now))
    done += _district_loss(session, days)
    session.flush()
    return done


def find_trouble(engine: Engine, *, rules: ReadRules, first_read: date, now: datetime) -> dict[str, int]:
    """Check the last two months of reads and compute the line loss of the whole history: what
    ``dianfei demo load`` runs at the end, so the queue shows the trouble right away."""
    today = beijing_date(now)
    recent = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    with unit_of_work(engine) as session:
        opened = check_reads(session, rules=rules, first=max(recent, first_read), last=today - timedelta(days=1),
                             now=now)
        loss = compute_loss(session, first=first_read, last=today - timedelta(days=2), now=now,
                            high_percent=rules.loss_high_percent)
    return opened | {rule: count for rule, count in loss.items() if rule != "figures"}


def _candidates(session: Session) -> tuple[list[Candidate], list[Candidate], list[Candidate]]:
    spoken_for = select(Binding.account_id).union(select(ManagerAccount.account_id))
    rows = session.execute(
        select(Account.id, Account.account_no, Meter.id, Meter.meter_no, Meter.kind, Account.regime)
        .join(Meter, Meter.id == Account.meter_id)
        .where(Account.category == RESIDENTIAL, Account.status == ACTIVE, Account.id.not_in(spoken_for))
        .order_by(Account.account_no)).all()
    pick = [(Candidate(*row[:4]), row[4], row[5]) for row in rows]
    smart = [c for c, kind, regime in pick if kind == SMART and regime != PREPAID]
    return smart, [c for c, kind, _ in pick if kind == MANUAL], [c for c, kind, regime in pick if kind == SMART and regime == PREPAID]


def _reads_of(session: Session, meter_id: int, since: date | None = None) -> list:
    query = select(_TOTAL.id, _TOTAL.read_on, _TOTAL.total_wh, *(_TOTAL[f"{n}_wh"] for n in REGISTERS)) \
        .where(_TOTAL.meter_id == meter_id).order_by(_TOTAL.read_on)
    return session.execute(query.where(_TOTAL.read_on >= since) if since else query).all()


def _set(session: Session, read_id: int, total_wh: int, **registers: int) -> None:
    values = {"total_wh": total_wh} | {f"{name}_wh": value for name, value in registers.items()}
    session.execute(update(Read.__table__).where(_TOTAL.id == read_id).values(**values))


def _misread_low(session: Session, meter: Candidate, days: list[date], now: datetime) -> str:
    """The reader dropped a digit on this month's visit."""
    last = _reads_of(session, meter.meter_id)[-1]
    _set(session, last.id, last.total_wh // 10)
    return f"misread (a digit dropped) {meter.account_no} on {last.read_on}"


def _misread_high(session: Session, meter: Candidate, days: list[date], now: datetime) -> str:
    """The reader wrote 9 for 0 in the hundreds of kWh."""
    last = _reads_of(session, meter.meter_id)[-1]
    _set(session, last.id, last.total_wh + 900_000)
    return f"misread (900 kWh too many) {meter.account_no} on {last.read_on}"


def _rollover(session: Session, meter: Candidate, days: list[date], now: datetime) -> str:
    """An old mechanical register that passed 99999.99 kWh between its last two visits."""
    rows = _reads_of(session, meter.meter_id)
    shift = REGISTER_WRAP_WH - (rows[-2].total_wh + rows[-1].total_wh) // 2
    for row in rows:
        _set(session, row.id, (row.total_wh + shift) % REGISTER_WRAP_WH)
    return f"register rollover {meter.account_no} on {rows[-1].read_on}"


def _glitch(session: Session, meter: Candidate, days: list[date], now: datetime) -> str:
    """A head-end glitch: one day's freeze 50 kWh short (the registers still add up)."""
    row = _reads_of(session, meter.meter_id, days[-TROUBLE_DAYS["glitch"]])[0]
    registers = {n: v for n, v in zip(REGISTERS, row[3:]) if v is not None}
    last = list(registers)[-1]
    _set(session, row.id, row.total_wh - 50_000, **{last: registers[last] - 50_000})
    return f"misread (a glitch 50 kWh short) {meter.account_no} on {row.read_on}"


def _stopped(session: Session, meter: Candidate, days: list[date], now: datetime) -> str:
    """A meter whose register stopped: every read since shows the same numbers."""
    rows = _reads_of(session, meter.meter_id, days[-TROUBLE_DAYS["stopped"] - 1])
    frozen = {n: v for n, v in zip(REGISTERS, rows[0][3:]) if v is not None}
    for row in rows[1:]:
        _set(session, row.id, rows[0].total_wh, **frozen)
    return f"stopped meter {meter.account_no} since {rows[0].read_on}"


def _vacant(session: Session, meter: Candidate, days: list[date], now: datetime) -> str:
    """A flat recorded as vacant (空置) whose meter keeps counting: somebody lives there."""
    session.execute(update(Account.__table__).where(Account.__table__.c.id == meter.account_id).values(status=VACANT))
    return f"vacant flat using power {meter.account_no}"


def _change(session: Session, meter: Candidate, days: list[date], now: datetime) -> str:
    """The meter was replaced, its final read taken: the new one starts at zero and counts on."""
    on = days[-TROUBLE_DAYS["change"]]
    _replace_meter(session, meter, on, now, dead=False)
    return f"meter change {meter.account_no} on {on}"


def _dead_meter(session: Session, meter: Candidate, days: list[date], now: datetime) -> str:
    """The meter died the day before the crew replaced it: no freeze that day, no final read."""
    on = days[-TROUBLE_DAYS["dead"]]
    _replace_meter(session, meter, on, now, dead=True)
    return f"meter change without a final read (a dead meter) {meter.account_no} on {on}"


def _replace_meter(session: Session, meter: Candidate, on: date, now: datetime, *, dead: bool) -> None:
    """The new meter (from stock) takes over the reads the old one sent after the change, counted
    from zero; a dead meter's freeze of the change day becomes the new meter's initial read."""
    (base,) = _reads_of(session, meter.meter_id, on)[:1]
    registers = {n: v for n, v in zip(REGISTERS, base[3:]) if v is not None}
    spare = Meter(meter_no=f"H{meter.meter_no[1:]}", kind=SMART, multiplier=1, tou=bool(registers), installed_on=on)
    session.add(spare)
    session.flush()
    moved = {"meter_id": spare.id, "total_wh": _TOTAL.total_wh - base.total_wh}
    moved |= {f"{n}_wh": _TOTAL[f"{n}_wh"] - v for n, v in registers.items()}
    session.execute(update(Read.__table__).values(**moved).where(  # moved, not deleted: no table scans for references
        _TOTAL.meter_id == meter.meter_id, _TOTAL.read_on >= on if dead else _TOTAL.read_on > on))
    admin = session.execute(select(StaffUser.id).where(StaffUser.username == "admin")).scalar()
    change_meter(session, session.get(Account, meter.account_id), on=on,
                 old_final=None if dead else Reading(base.total_wh, registers), new_meter_no=spare.meter_no,
                 new_initial=Reading(0, dict.fromkeys(registers, 0)), multiplier=1, staff_id=admin, now=now,
                 reason="表计故障，更换智能表")


def _no_cut(session: Session, meter: Candidate, days: list[date], now: datetime) -> str:
    """A prepaid account settled below zero twelve days ago whose meter never cut the power."""
    code = ledger.customer_code(meter.account_no)
    owed = ledger.balance_fen(session, code) + 3_000
    allocation.post(session, Posting(f"demo:settle:{meter.account_no}", code, "revenue:energy", owed, "energy",
                                     "智能交费电费扣减"), at=now - timedelta(days=TROUBLE_DAYS["prepaid"]))
    return f"prepaid meter that failed to cut {meter.account_no}"


def _district_loss(session: Session, days: list[date]) -> list[str]:
    supply = dict(session.execute(select(District.code, District.district_meter_id)).all())
    done = []
    theft_from = (days[-1].replace(day=1) - timedelta(days=1)).replace(day=1)
    if "TQ-CN02" in supply:
        _scale(session, supply["TQ-CN02"], theft_from, (100 + THEFT_PERCENT, 100))
        done.append(f"high line loss in TQ-CN02 from {theft_from}")
    if "TQ-HX03" in supply:
        _scale(session, supply["TQ-HX03"], days[-TROUBLE_DAYS["under_read"]], UNDER_READ)
        done.append("negative line loss in TQ-HX03 for a week")
    return done


def _scale(session: Session, meter_id: int, since: date, ratio: tuple[int, int]) -> None:
    """Scale a supply meter's daily advance from ``since`` on (its later reads move with it)."""
    rows = _reads_of(session, meter_id, since - timedelta(days=1))
    total = rows[0].total_wh
    for before, row in zip(rows, rows[1:]):
        total += (row.total_wh - before.total_wh) * ratio[0] // ratio[1]
        _set(session, row.id, total)
