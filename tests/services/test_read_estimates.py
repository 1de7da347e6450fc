"""Estimating a day's missing reads in bulk, and the actual read from an AMI file superseding an
estimate exactly as ``record_read`` does for one read."""

from datetime import date, timedelta

import pytest
from sqlmodel import select

from billing.accounts import DISTRICT_METER, MANUAL, VACANT, Account, District, Meter
from billing.db import read_session, unit_of_work
from billing.estimation import METHOD, estimate_read
from billing.meters import MeterInstallation
from billing.missing_reads import estimate_missing_reads
from billing.read_import import import_reads
from billing.reads import AMI, ESTIMATED, EstimateCarry, NewRead, Read, record_read
from tests import factories
from tests.conftest import START

OPENED = START  # 2026-11-27 in Beijing: the accounts open, and the clock moves on to 2026-12-07
FIRST = date(2026, 12, 1)
GAP = FIRST + timedelta(days=5)
HEADER = "表号,冻结时间,正向有功总(kWh),尖(kWh),峰(kWh),平(kWh),谷(kWh)"


@pytest.fixture
def later(clock):
    clock.advance(days=10)  # the reads below are in the past, and the accounts open before them
    return clock


def _history(db, meter_id: int, clock, *, tou: bool) -> None:
    """Three days of reads, 10 kWh a day (peak 6, valley 4 on a TOU meter)."""
    for n in range(3):
        registers = {"peak": 60_000 + 6_000 * n, "valley": 40_000 + 4_000 * n} if tou else {}
        record_read(db, NewRead(meter_id, FIRST + timedelta(days=n), AMI, 100_000 + 10_000 * n, registers), now=clock())


def _metered_account(db, clock, *, multiplier: int = 1, tou: bool = False) -> Account:
    account = factories.account(db, at=OPENED)
    meter = db.get(Meter, account.meter_id)
    meter.tou = tou
    installation = db.exec(select(MeterInstallation).where(MeterInstallation.account_id == account.id)).one()
    installation.multiplier = multiplier
    db.add_all([meter, installation])
    db.flush()
    return account


def _supply_meter(db, number: str) -> Meter:
    meter = Meter(meter_no=number, role=DISTRICT_METER, multiplier=200, installed_on=date(2025, 1, 1))
    db.add(meter)
    db.flush()
    db.add(District(code=f"TQ-{number}", name="测试台区", district_meter_id=meter.id))
    db.flush()
    return meter


def _state(db, meter_id: int) -> tuple:
    """A meter's reads and carries, with ids replaced by what they point at."""
    reads = db.exec(select(Read).where(Read.meter_id == meter_id).order_by(Read.id)).all()
    day_of = {read.id: (read.read_on, read.source) for read in reads}
    rows = [(r.read_on, r.source, r.total_wh, r.sharp_wh, r.peak_wh, r.flat_wh, r.valley_wh, r.status, r.method,
             r.note, day_of.get(r.supersedes_id)) for r in reads]
    carries = [(c.difference_wh, day_of[c.estimated_read_id], day_of[c.actual_read_id])
               for c in db.exec(select(EstimateCarry).where(EstimateCarry.estimated_read_id.in_(list(day_of)))).all()]
    return rows, carries


def test_bulk_supersede_agrees_with_record_read(engine, later):
    """Pairs of meters with the same history and estimate: one gets its actual read through
    ``record_read``, the other through an import; the end states must be the same."""
    actual = {"tou": (160_000, {"peak": 97_000, "valley": 63_000}), "flat": (153_000, {}), "supply": (153_000, {}),
              "same": (150_000, {})}  # the estimates: 150_000 (peak 90_000, valley 60_000)
    with unit_of_work(engine) as db:
        pairs = {
            "tou": [_metered_account(db, later, multiplier=1, tou=True).meter_id for _ in range(2)],
            "flat": [_metered_account(db, later, multiplier=30).meter_id for _ in range(2)],
            "supply": [_supply_meter(db, f"Z-{n}").id for n in range(2)],
            "same": [_metered_account(db, later).meter_id for _ in range(2)],  # the actual equals the estimate
        }
        for kind, meter_ids in pairs.items():
            for meter_id in meter_ids:
                _history(db, meter_id, later, tou=kind == "tou")
                assert estimate_read(db, meter_id, GAP, now=later()).total_wh == 150_000
        for kind, (by_record, _) in pairs.items():
            total, registers = actual[kind]
            record_read(db, NewRead(by_record, GAP, AMI, total, registers), now=later())
        numbers = {by_import: db.get(Meter, by_import).meter_no for _, by_import in pairs.values()}
    lines = [f"{numbers[by_import]},{GAP} 00:00,{_kwh(actual[kind][0])},,{_kwh(actual[kind][1].get('peak'))},,"
             f"{_kwh(actual[kind][1].get('valley'))}" for kind, (_, by_import) in pairs.items()]
    result = import_reads(engine, "\n".join([HEADER, *lines]).encode(), filename="gap.csv", imported_by="t",
                          now=later())
    assert (result.outcome, result.written, result.superseded, result.duplicate, result.bad) == ("imported", 3, 3, 1, 0)
    with read_session(engine) as db:
        for kind, (by_record, by_import) in pairs.items():
            assert _state(db, by_import) == _state(db, by_record), kind
        rows, carries = _state(db, pairs["flat"][1])
        assert carries == [((153_000 - 150_000) * 30, (GAP, ESTIMATED), (GAP, AMI))]
        assert [row[7] for row in rows if row[0] == GAP] == ["superseded", "valid"]
        assert _state(db, pairs["supply"][1])[1] == []  # a supply meter bills no one


def _kwh(wh: int | None) -> str:
    return "" if wh is None else f"{wh // 1000}.{wh % 1000 // 10:02d}"


def test_a_days_missing_reads_are_estimated_once_and_the_import_supersedes_them(engine, later):
    with unit_of_work(engine) as db:
        missing = _metered_account(db, later)
        read = _metered_account(db, later)
        young = _metered_account(db, later)
        vacant = _metered_account(db, later)
        manual = _metered_account(db, later)
        supply = _supply_meter(db, "Z-9")
        db.get(Meter, manual.meter_id).kind = MANUAL
        db.get(Account, vacant.id).status = VACANT
        for account in (missing, read, vacant, manual):
            _history(db, account.meter_id, later, tou=False)
        _history(db, supply.id, later, tou=False)
        record_read(db, NewRead(read.meter_id, GAP, AMI, 155_000), now=later())
        record_read(db, NewRead(young.meter_id, FIRST, AMI, 5_000), now=later())
        young_no = db.get(Meter, young.meter_id).meter_no
    with unit_of_work(engine) as db:
        run = estimate_missing_reads(db, GAP, now=later())
    assert set(run.estimated) == {missing.meter_id, supply.id} and run.already_read == 1
    assert [number for number, _ in run.cannot] == [young_no]
    with unit_of_work(engine) as db:
        again = estimate_missing_reads(db, GAP, now=later())
    assert (again.estimated, again.already_read, len(again.cannot)) == ((), 3, 1)
    with read_session(engine) as db:
        estimates = db.exec(select(Read).where(Read.source == ESTIMATED)).all()
        assert sorted((r.meter_id, r.total_wh, r.method) for r in estimates) == sorted(
            [(missing.meter_id, 150_000, METHOD), (supply.id, 150_000, METHOD)])
        number = db.get(Meter, missing.meter_id).meter_no
    result = import_reads(engine, f"{HEADER}\n{number},{GAP} 00:00,149.00,,,,\n".encode(), filename="late.csv",
                          imported_by="t", now=later())
    assert (result.written, result.superseded) == (1, 1)
    with read_session(engine) as db:
        (carry,) = db.exec(select(EstimateCarry)).all()
        assert (carry.account_id, carry.difference_wh) == (missing.id, -1_000)
