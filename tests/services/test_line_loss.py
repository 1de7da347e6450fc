"""台区 line loss per day and month: supply against the sum of the customers' meters, flagged when an
estimate went in or a meter lacked reads, recomputed in place; negative and high losses are findings."""

from datetime import date

import pytest
from sqlmodel import select

from billing.accounts import DISTRICT_METER, MANUAL, Meter
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput
from billing.line_loss import DAY, MONTH, DistrictLoss, compute_loss, rate_bp
from billing.reads import ESTIMATED, MANUAL_READ, NewRead, record_read
from billing.review import open_items
from tests import factories
from tests.read_helpers import DAY as ONE_DAY, TODAY, old_account, reads, steady

FIRST = date(2026, 10, 30)  # days of use 10-30 and 10-31 (reads of 10-30 .. 11-01), and October
LAST = date(2026, 10, 31)


def district(engine, clock, supply_per_day: int, *, manual: bool = False) -> int:
    """A district whose supply meter (倍率 10) sends ``supply_per_day`` Wh a day, and two customers of
    10 kWh a day each, read daily from 10-01 to 11-01 (or, ``manual``, the second only on the 1st)."""
    with unit_of_work(engine) as db:
        area = factories.district(db)
        supply = Meter(meter_no=f"Z{area.code}", role=DISTRICT_METER, multiplier=10, installed_on=date(2025, 1, 1))
        db.add(supply)
        db.flush()
        area.district_meter_id = supply.id
        db.add(area)
        start = date(2026, 10, 1)
        reads(db, supply.id, start, steady(1_000_000, supply_per_day // 10, 32), clock)
        first, second = old_account(db, district_=area), old_account(db, district_=area)
        reads(db, first.meter_id, start, steady(3_000_000, 10_000, 32), clock)
        if manual:
            db.get(Meter, second.meter_id).kind = MANUAL
            reads(db, second.meter_id, start, [4_000_000, 4_310_000], clock, source=MANUAL_READ, step=31)
        else:
            reads(db, second.meter_id, start, steady(4_000_000, 10_000, 32), clock)
        return area.id


def compute(engine, clock, first=FIRST, last=LAST) -> dict[str, int]:
    with unit_of_work(engine) as db:
        return compute_loss(db, first=first, last=last, now=clock(), high_percent=10)


def figures(engine, district_id: int) -> dict[tuple[str, date], DistrictLoss]:
    with read_session(engine) as db:
        rows = db.exec(select(DistrictLoss).where(DistrictLoss.district_id == district_id)).all()
    return {(row.period, row.starts_on): row for row in rows}


def test_daily_and_monthly_loss_of_a_healthy_district(engine, clock):
    area = district(engine, clock, 21_000)
    assert compute(engine, clock) == {"figures": 3}
    found = figures(engine, area)
    assert sorted(found) == [(DAY, FIRST), (DAY, LAST), (MONTH, date(2026, 10, 1))]
    day = found[(DAY, LAST)]
    assert (day.supply_wh, day.customers_wh, day.loss_wh, day.estimated, day.complete) == (21_000, 20_000, 1_000, False, True)
    month = found[(MONTH, date(2026, 10, 1))]
    assert (month.supply_wh, month.customers_wh) == (31 * 21_000, 31 * 20_000)
    with read_session(engine) as db:
        assert open_items(db) == []
    assert [rate_bp(found[(DAY, day)]) for day in (FIRST, LAST)] == [476, 476]


def test_computing_again_replaces_the_figures_and_flags_an_estimate(engine, clock):
    area = district(engine, clock, 21_000)
    compute(engine, clock)
    with unit_of_work(engine) as db:
        customer = db.exec(select(Meter).where(Meter.role == "customer").order_by(Meter.id)).first()
        record_read(db, NewRead(customer.id, LAST, ESTIMATED, 3_301_000, method="avg_daily_30d"), now=clock(),
                    replace=True)
    assert compute(engine, clock) == {"figures": 3}
    found = figures(engine, area)
    assert len(found) == 3 and found[(DAY, LAST)].estimated and found[(DAY, FIRST)].estimated
    assert found[(DAY, FIRST)].customers_wh == 11_000 + 10_000 and not found[(MONTH, date(2026, 10, 1))].estimated


def test_negative_loss_is_a_finding_per_spell_of_days_and_per_month(engine, clock):
    area = district(engine, clock, 18_000)
    assert compute(engine, clock, last=FIRST) == {"figures": 1, "loss_negative": 1}
    assert compute(engine, clock, first=LAST) == {"figures": 2, "loss_negative_month": 1}  # the same spell
    with read_session(engine) as db:
        found = sorted((item.rule, item.subject_on, item.district_id) for item in open_items(db))
        detail = next(item.details for item in open_items(db) if item.rule == "loss_negative_month")
    assert found[0] == ("loss_negative", FIRST, area)
    assert (detail["loss_wh"], detail["rate_bp"], detail["complete"]) == (-31 * 2_000, -1111, True)
    assert compute(engine, clock) == {"figures": 3}  # nothing opened twice


def test_high_loss_is_a_finding_only_on_complete_figures(engine, clock):
    district(engine, clock, 30_000)
    assert compute(engine, clock) == {"figures": 3, "loss_high": 1, "loss_high_month": 1}
    incomplete = district(engine, clock, 30_000, manual=True)
    with unit_of_work(engine) as db:
        for item in open_items(db):
            db.delete(item)
    assert compute(engine, clock) == {"figures": 6, "loss_high": 1, "loss_high_month": 2}
    found = figures(engine, incomplete)
    assert not found[(DAY, LAST)].complete and found[(MONTH, date(2026, 10, 1))].complete


def test_the_loss_of_today_needs_tomorrow(engine, clock):
    with unit_of_work(engine) as db, pytest.raises(InvalidInput) as refused:
        compute_loss(db, first=TODAY - ONE_DAY, last=TODAY, now=clock(), high_percent=10)
    assert refused.value.field == "last"
