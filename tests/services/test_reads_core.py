"""The reads core: one valid read per meter and day, estimates superseded by actuals with the
difference carried, energy across meter and multiplier changes, an idempotent review queue."""

from datetime import date, timedelta

import pytest
from sqlmodel import select

from billing.db import read_session, unit_of_work
from billing.estimation import METHOD, CannotEstimate, estimate, estimate_read
from billing.meters import MeterInstallation, ReadMissing, energy, install
from billing.reads import ESTIMATED, MANUAL_READ, SUPERSEDED, EstimateCarry, NewRead, Read, ReadConflict, record_read
from billing.accounts import Meter
from billing.review import open_item, open_items
from tests import factories

DAY = date(2026, 12, 1)  # the test accounts open on 2026-11-27


def _read(db, meter_id, day, total, clock, **registers):
    return record_read(db, NewRead(meter_id, day, MANUAL_READ, total, registers), now=clock())


def test_one_valid_read_per_meter_and_day(engine, clock):
    with unit_of_work(engine) as db:
        account = factories.account(db, at=clock())
        read, outcome = _read(db, account.meter_id, DAY, 1_000_000, clock)
        assert outcome == "created"
        assert _read(db, account.meter_id, DAY, 1_000_000, clock) == (read, "duplicate")
        with pytest.raises(ReadConflict):
            _read(db, account.meter_id, DAY, 1_000_500, clock)
        corrected, outcome = record_read(db, NewRead(account.meter_id, DAY, "corrected", 1_000_400, note="看错一位"),
                                         now=clock(), replace=True)
        assert outcome == "superseded" and corrected.supersedes_id == read.id
    with read_session(engine) as db:
        assert [(r.total_wh, r.status) for r in db.exec(select(Read).order_by(Read.id))] == [
            (1_000_000, SUPERSEDED), (1_000_400, "valid")]


def test_an_actual_read_supersedes_the_estimate_and_the_difference_is_carried(engine, clock):
    with unit_of_work(engine) as db:
        account = factories.account(db, at=clock())
        for n, total in enumerate((100_000, 110_000, 120_000)):  # 10 kWh a day
            _read(db, account.meter_id, DAY + timedelta(days=n), total, clock)
        guess = estimate_read(db, account.meter_id, DAY + timedelta(days=5), now=clock())
        assert (guess.source, guess.method, guess.total_wh) == (ESTIMATED, METHOD, 150_000)
        actual, outcome = _read(db, account.meter_id, DAY + timedelta(days=5), 156_000, clock)
        assert outcome == "superseded"
    with read_session(engine) as db:
        (carry,) = db.exec(select(EstimateCarry)).all()
        assert (carry.account_id, carry.difference_wh, carry.estimated_read_id) == (account.id, 6_000, guess.id)


def test_an_estimate_keeps_the_registers_adding_up(engine, clock):
    with unit_of_work(engine) as db:
        account = factories.account(db, at=clock())
        _read(db, account.meter_id, DAY, 100_000, clock, peak=60_000, valley=40_000)
        _read(db, account.meter_id, DAY + timedelta(days=10), 200_000, clock, peak=120_000, valley=80_000)
        guess = estimate(db, account.meter_id, DAY + timedelta(days=13))
        with pytest.raises(CannotEstimate):
            estimate(db, account.meter_id, DAY)
    assert guess.registers_wh == {"peak": 138_000, "valley": 92_000} and guess.total_wh == 230_000


def test_energy_counts_both_meters_across_a_meter_change_and_the_multiplier(engine, clock):
    change = DAY + timedelta(days=10)
    with unit_of_work(engine) as db:
        account = factories.account(db, at=clock())
        new_meter = Meter(meter_no="T-NEW-0001", installed_on=change)
        db.add(new_meter)
        db.flush()
        old = db.exec(select(MeterInstallation).where(MeterInstallation.account_id == account.id)).one()
        old.removed_on = change
        db.add(old)
        db.flush()
        install(db, account_id=account.id, meter_id=new_meter.id, multiplier=30, on=change, now=clock())
        _read(db, account.meter_id, DAY, 500_000, clock)
        _read(db, account.meter_id, change, 650_000, clock)  # the old meter's final read
        _read(db, new_meter.id, change, 0, clock)  # the new meter's initial read
        _read(db, new_meter.id, DAY + timedelta(days=20), 4_000, clock)
        used = energy(db, account.id, DAY, DAY + timedelta(days=20))
        assert used.total_wh == 150_000 + 4_000 * 30 and not used.estimated
        with pytest.raises(ReadMissing):
            energy(db, account.id, DAY, DAY + timedelta(days=21))


def test_the_review_queue_opens_each_finding_once(engine, clock):
    with unit_of_work(engine) as db:
        account = factories.account(db, at=clock())
        first = open_item(db, kind="read", rule="high_use", subject_on=DAY, at=clock(), meter_id=account.meter_id,
                          account_id=account.id, detail={"used_wh": 99_000})
        again = open_item(db, kind="read", rule="high_use", subject_on=DAY, at=clock(), meter_id=account.meter_id,
                          account_id=account.id)
        assert first is not None and again is None
    with read_session(engine) as db:
        (item,) = open_items(db)
        assert item.details == {"used_wh": 99_000} and item.rule == "high_use"
