"""The demo county: the shape the issue asks for, deterministic from its seed, sane readings."""

import hashlib
from datetime import date

import pytest
from sqlalchemy import func, select, text

import migrations
from billing import ledger
from billing.accounts import Account, Meter
from billing.db import make_engine, read_session
from demo.county import database_is_empty, load_demo_county
from billing.reads import Read
from billing.managers import ManagerAccount
from billing.residents import Binding
from billing.staff import StaffUser


@pytest.fixture
def county(engine, clock):
    assert database_is_empty(engine)
    return load_demo_county(engine, now=clock())


def test_default_county_has_the_promised_shape(engine, county):
    with read_session(engine) as db:
        count = lambda query: db.execute(query).scalar()  # noqa: E731
        assert count(text("SELECT count(*) FROM district")) == 3
        residential = dict(db.execute(
            select(Account.regime, func.count()).where(Account.category == "residential").group_by(Account.regime)
        ).all())
        assert sum(residential.values()) >= 300 and residential["prepaid"] > 0 and residential["postpaid"] > 0
        assert count(select(func.count()).where(Account.category != "residential")) >= 20
        assert count(select(func.count()).select_from(ManagerAccount)) >= 40
        assert count(select(func.count()).where(Meter.kind == "manual")) >= 3
        assert count(select(func.count()).select_from(StaffUser)) >= 5
        assert count(select(func.count()).select_from(Binding)) >= 2
        assert count(select(func.count()).where(Account.protected)) >= 1
        first, last = db.execute(select(func.min(Read.read_on), func.max(Read.read_on))).one()
        assert (last - first).days >= 14 * 30
        opening = [ledger.balance_fen(db, ledger.customer_code(no)) for no in db.execute(select(Account.account_no)).scalars()]
        assert any(b > 0 for b in opening) and any(b < 0 for b in opening)
        assert not database_is_empty(engine)


def _digest(engine) -> str:
    digest = hashlib.sha256()
    with engine.connect() as connection:
        for query in (
            "SELECT account_no, holder_name, category, regime, address FROM account ORDER BY account_no",
            "SELECT m.meter_no, r.read_on, r.total_wh, r.peak_wh, r.valley_wh FROM meter_read r "
            "JOIN meter m ON m.id = r.meter_id ORDER BY m.meter_no, r.read_on, r.source",
            "SELECT code, debits_fen, credits_fen FROM ledger_account ORDER BY code",
        ):
            for row in connection.execute(text(query)):
                digest.update(repr(tuple(str(v) for v in row)).encode())
    return digest.hexdigest()


def test_same_seed_same_county_on_any_database(engine, clock, tmp_path):
    load_demo_county(engine, accounts=40, seed=7, now=clock())
    other = make_engine(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    migrations.upgrade(other)
    load_demo_county(other, accounts=40, seed=7, now=clock())
    different = make_engine(f"sqlite:///{tmp_path / 'different.sqlite3'}")
    migrations.upgrade(different)
    load_demo_county(different, accounts=40, seed=8, now=clock())
    assert _digest(engine) == _digest(other) != _digest(different)


def _average_daily_wh(db, month: int) -> float:
    reads = db.execute(text(
        "SELECT r.read_on, r.total_wh * m.multiplier FROM meter_read r JOIN meter m ON m.id = r.meter_id "
        "WHERE m.role = 'district' AND m.meter_no = 'ZTQ-CG01' ORDER BY r.read_on"
    )).all()
    deltas = [b - a for (_, a), (day, b) in zip(reads, reads[1:]) if date.fromisoformat(str(day)).month == month]
    return sum(deltas) / len(deltas)


def test_use_peaks_in_summer_and_winter(engine, county):
    with read_session(engine) as db:
        april, july, january = (_average_daily_wh(db, m) for m in (4, 7, 1))
    assert july > 1.3 * april and january > 1.15 * april


def test_registers_add_up_and_district_supply_exceeds_customer_use(engine, county):
    with read_session(engine) as db:
        broken = db.execute(text(
            "SELECT count(*) FROM meter_read WHERE peak_wh IS NOT NULL AND "
            "total_wh <> COALESCE(sharp_wh, 0) + peak_wh + COALESCE(flat_wh, 0) + valley_wh"
        )).scalar()
        assert broken == 0
        supply = db.execute(text(
            "SELECT sum((last.total_wh - first.total_wh) * m.multiplier) FROM meter m "
            "JOIN meter_read first ON first.meter_id = m.id AND first.read_on = :a "
            "JOIN meter_read last ON last.meter_id = m.id AND last.read_on = :b WHERE m.role = 'district'"
        ), {"a": county.first_read, "b": county.last_read}).scalar()
        use = db.execute(text(
            "SELECT sum((last.total_wh - first.total_wh) * m.multiplier) FROM meter m "
            "JOIN meter_read first ON first.meter_id = m.id AND first.read_on = :a AND first.source = 'ami' "
            "JOIN meter_read last ON last.meter_id = m.id AND last.read_on = :b WHERE m.role = 'customer'"
        ), {"a": county.first_read, "b": county.last_read}).scalar()
    assert int(use) < int(supply) < int(use) * 11 // 10
