"""The demo's AMI file of today's freezes: ``dianfei reads import`` loads it, once."""

from datetime import timedelta

from sqlalchemy import func, select

from billing.accounts import SMART, Meter
from billing.clock import beijing_date
from billing.db import read_session
from billing.read_import import ALREADY_IMPORTED, IMPORTED, import_reads
from billing.reads import Read
from demo.ami_file import write_ami_file
from demo.county import load_demo_county


def test_todays_ami_file_imports_every_smart_meter_once(engine, clock, tmp_path):
    load_demo_county(engine, accounts=30, now=clock())
    path = write_ami_file(engine, tmp_path / "ami", now=clock())
    today = beijing_date(clock())
    assert path == tmp_path / "ami" / f"ami-{today:%Y%m%d}.csv"
    lines = path.read_bytes().decode("gbk").split("\r\n")
    assert lines[0] == "表号,冻结时间,正向有功总(kWh),尖(kWh),峰(kWh),平(kWh),谷(kWh)" and lines[-1] == ""
    first = import_reads(engine, path.read_bytes(), filename=path.name, imported_by="demo", now=clock())
    assert (first.outcome, first.bad, first.first_day, first.last_day) == (IMPORTED, 0, today, today)
    with read_session(engine) as db:
        smart = db.exec(select(func.count()).select_from(Meter).where(Meter.kind == SMART)).scalar()
        assert first.written == len(lines) - 2 == smart  # every smart meter, the three supply meters too
        held = db.exec(select(func.count()).select_from(Read)).scalar()
        before = db.exec(select(Read).where(Read.read_on == today - timedelta(days=1))).scalars()
        yesterday = {read.meter_id: read.total_wh for read in before}
        for read in db.exec(select(Read).where(Read.read_on == today)).scalars():
            assert read.total_wh >= yesterday[read.meter_id] and read.total_wh % 10 == 0
    again = import_reads(engine, path.read_bytes(), filename=path.name, imported_by="demo", now=clock())
    assert again.outcome == ALREADY_IMPORTED and again.batch.id == first.batch.id
    with read_session(engine) as db:
        assert db.exec(select(func.count()).select_from(Read)).scalar() == held
