"""AMI file import: a batch per file, exact Wh, every kind of bad line refusing the whole file (or
skipped with --skip-bad), duplicates and the estimate an actual read supersedes."""

import hashlib
from datetime import date

import pytest
from sqlalchemy import func, select

from billing.accounts import DISTRICT_METER, MANUAL, Meter
from billing.db import read_session, unit_of_work
from billing.read_import import ALREADY_IMPORTED, IMPORTED, REFUSED, import_reads
from billing.reads import MANUAL_READ, NewRead, Read, ReadBatch, record_read

HEADER = "表号,冻结时间,正向有功总(kWh),尖(kWh),峰(kWh),平(kWh),谷(kWh)"
TODAY = date(2026, 11, 27)  # the clock's Beijing day
GOOD = "FLAT-1,2026-11-26 00:00,1234.56,,,,"
ALSO_GOOD = "TOU-1,2026-11-26 00:00,10.00,1.00,4.00,3.00,2.00"


def ami(*lines: str, encoding: str = "utf-8", header: str = HEADER, end: str = "\n") -> bytes:
    return (end.join((header, *lines)) + end).encode(encoding)


@pytest.fixture
def meters(engine):
    """A meter with the total only, one with 尖峰平谷, a manual one, a district supply meter."""
    with unit_of_work(engine) as db:
        rows = [Meter(meter_no="FLAT-1", installed_on=date(2025, 1, 1)),
                Meter(meter_no="TOU-1", tou=True, installed_on=date(2025, 1, 1)),
                Meter(meter_no="HAND-1", kind=MANUAL, installed_on=date(2025, 1, 1)),
                Meter(meter_no="ZTQ-01", role=DISTRICT_METER, multiplier=200, installed_on=date(2025, 1, 1))]
        db.add_all(rows)
        db.flush()
        return {row.meter_no: row.id for row in rows}


def run(engine, clock, data: bytes, **options):
    return import_reads(engine, data, filename="ami-20261126.csv", imported_by="张工", now=clock(), **options)


def held(engine) -> list[tuple]:
    with read_session(engine) as db:
        return [(r.meter_id, r.read_on, r.source, r.total_wh, r.sharp_wh, r.peak_wh, r.flat_wh, r.valley_wh, r.status)
                for r in db.exec(select(Read).order_by(Read.id)).scalars()]


def batches(engine) -> list[ReadBatch]:
    with read_session(engine) as db:
        return list(db.exec(select(ReadBatch).order_by(ReadBatch.id)).scalars())


def test_a_file_becomes_one_batch_of_exact_wh_reads(engine, clock, meters):
    data = ami(GOOD, ALSO_GOOD, "ZTQ-01,2026-11-25 00:00,881234.50,,,,", "TOU-1,2026-11-25 00:00,0.01,,0.01,,")
    result = run(engine, clock, data)
    assert (result.outcome, result.rows_total, result.written, result.duplicate, result.bad) == (IMPORTED, 4, 4, 0, 0)
    assert result.meter_ids == {meters["FLAT-1"], meters["TOU-1"], meters["ZTQ-01"]}
    assert (result.first_day, result.last_day) == (date(2026, 11, 25), date(2026, 11, 26))
    day, before = date(2026, 11, 26), date(2026, 11, 25)
    assert sorted(held(engine)) == sorted([
        (meters["FLAT-1"], day, "ami", 1_234_560, None, None, None, None, "valid"),
        (meters["TOU-1"], day, "ami", 10_000, 1_000, 4_000, 3_000, 2_000, "valid"),
        (meters["ZTQ-01"], before, "ami", 881_234_500, None, None, None, None, "valid"),
        (meters["TOU-1"], before, "ami", 10, None, 10, None, None, "valid")])
    (batch,) = batches(engine)
    assert (batch.sha256, batch.filename, batch.imported_by, batch.kind) == (
        hashlib.sha256(data).hexdigest(), "ami-20261126.csv", "张工", "ami")
    assert (batch.rows_total, batch.rows_written, batch.rows_duplicate, batch.rows_bad, batch.report) == (4, 4, 0, 0, "")
    with read_session(engine) as db:
        assert set(db.exec(select(Read.batch_id)).scalars()) == {batch.id}


def test_the_same_file_twice_adds_nothing(engine, clock, meters):
    data = ami(GOOD, ALSO_GOOD)
    first = run(engine, clock, data)
    again = run(engine, clock, data)
    assert again.outcome == ALREADY_IMPORTED and again.batch.id == first.batch.id and again.written == 0
    assert len(held(engine)) == 2 and len(batches(engine)) == 1


def test_rows_already_held_with_the_same_values_are_duplicates(engine, clock, meters):
    run(engine, clock, ami(GOOD))
    result = run(engine, clock, ami(GOOD, ALSO_GOOD, ALSO_GOOD))  # another file: one row held, one repeated
    assert (result.outcome, result.rows_total, result.written, result.duplicate) == (IMPORTED, 3, 1, 2)
    assert result.meter_ids == {meters["TOU-1"]}
    assert [b.rows_duplicate for b in batches(engine)] == [0, 2] and len(held(engine)) == 2


@pytest.mark.parametrize(("bad", "code"), [
    ("NOPE-9,2026-11-26 00:00,1.00,,,,", "unknown_meter"),
    ("HAND-1,2026-11-26 00:00,1.00,,,,", "not_smart"),
    ("FLAT-1,2026-11-25 00:00,1.00,,,,,5", "columns"),
    ("FLAT-1,2026-11-25 00:00,1.00,,", "columns"),
    ('FLAT-1,"2026-11-25 00:00,1.00,,,,', "quote"),
    ("FLAT-1,2026-11-25 00:00,1.2O,,,,", "not_number"),
    ("FLAT-1,2026-11-25 00:00,,,,,", "no_total"),
    ("FLAT-1,2026-11-25 00:00,-1.00,,,,", "negative"),
    ("FLAT-1,2026-11-25 00:00,1.005,,,,", "decimals"),
    ("FLAT-1,2026-11-25 00:00,12345678901.00,,,,", "too_large"),
    ("FLAT-1,2026-11-25 08:00,1.00,,,,", "freeze_not_midnight"),
    ("FLAT-1,2026-11-31 00:00,1.00,,,,", "freeze_format"),
    ("FLAT-1,昨天,1.00,,,,", "freeze_format"),
    ("FLAT-1,2026-11-28 00:00,1.00,,,,", "future"),
    ("TOU-1,2026-11-25 00:00,10.00,,6.00,,3.99", "registers_sum"),
    ("TOU-1,2026-11-25 00:00,10.00,,,,", "registers_missing"),
    ("FLAT-1,2026-11-25 00:00,10.00,,6.00,,4.00", "registers_unexpected"),
])
def test_a_bad_line_refuses_the_whole_file_naming_it(engine, clock, meters, bad, code):
    result = run(engine, clock, ami(GOOD, bad, ALSO_GOOD))
    assert result.outcome == REFUSED and result.bad == 1
    assert [(problem.line, problem.code) for problem in result.problems] == [(3, code)]
    assert result.report.startswith(f"第3行 [{code}] ")
    assert held(engine) == [] and batches(engine) == []


def test_one_meter_and_day_twice_with_different_values_names_both_lines(engine, clock, meters):
    result = run(engine, clock, ami(GOOD, ALSO_GOOD, "FLAT-1,2026-11-26 00:00,1234.57,,,,"))
    assert result.outcome == REFUSED
    assert [(p.line, p.code, p.detail["other_line"]) for p in result.problems] == [
        (2, "repeated_differently", 4), (4, "repeated_differently", 2)]
    skipped = run(engine, clock, ami(GOOD, ALSO_GOOD, "FLAT-1,2026-11-26 00:00,1234.57,,,,"), skip_bad=True)
    assert (skipped.written, skipped.bad) == (1, 2)  # neither freeze of FLAT-1 is kept
    assert [row[0] for row in held(engine)] == [meters["TOU-1"]]


def test_a_row_contradicting_a_held_read_is_bad(engine, clock, meters):
    with unit_of_work(engine) as db:
        record_read(db, NewRead(meters["FLAT-1"], date(2026, 11, 26), MANUAL_READ, 1_234_000), now=clock())
    result = run(engine, clock, ami(ALSO_GOOD, GOOD))
    assert result.outcome == REFUSED and [(p.line, p.code) for p in result.problems] == [(3, "held_differently")]
    assert "FLAT-1 2026-11-26 已有不同的有效示数 1234 kWh（manual）" in result.report
    assert len(held(engine)) == 1 and batches(engine) == []


@pytest.mark.parametrize(("data", "line", "code"), [
    (ami(GOOD, header="表号,冻结时间,正向有功总(kWh)"), 1, "header"),
    ("\n".join([GOOD, ALSO_GOOD]).encode(), 1, "header"),
    (ami(), 1, "no_rows"),
    (b"", 1, "header"),
    (ami("", ""), 1, "no_rows"),
    (ami(GOOD) + b"FLAT-1,\xff\xfe,1.00,,,,\n", 3, "encoding"),
    (ami(GOOD).replace(b"1234.56", b"1\x0034.56"), 2, "not_text"),
])
def test_a_file_that_cannot_be_read_is_refused(engine, clock, meters, data, line, code):
    result = run(engine, clock, data, skip_bad=True)
    assert result.outcome == REFUSED and [(p.line, p.code) for p in result.problems] == [(line, code)]
    assert held(engine) == [] and batches(engine) == []


def test_skip_bad_writes_the_good_rows_and_keeps_the_report(engine, clock, meters):
    data = ami(GOOD, "NOPE-9,2026-11-26 00:00,1.00,,,,", ALSO_GOOD, "FLAT-1,2026-11-25 00:00,-5.00,,,,")
    result = run(engine, clock, data, skip_bad=True)
    assert (result.outcome, result.rows_total, result.written, result.bad) == (IMPORTED, 4, 2, 2)
    (batch,) = batches(engine)
    assert (batch.rows_total, batch.rows_written, batch.rows_bad) == (4, 2, 2)
    assert batch.report.splitlines() == ["第3行 [unknown_meter] 表号 NOPE-9 不存在", "第5行 [negative] 正向有功总 -5.00 是负数"]
    assert batch.report == result.report and len(held(engine)) == 2


def test_what_spreadsheets_and_head_ends_write_is_read_as_meant(engine, clock, meters):
    data = ami(" FLAT-1 , 2026/11/26 00:00:00 , 1234.5 ,,,,,", "TOU-1,2026-11-26,10,1,4,3,2", "",
               header="表号, 冻结时间 ,正向有功总（kWh）,尖（kWh）,峰（kWh）,平（kWh）,谷（kWh）,", end="\r\n")
    result = run(engine, clock, data)
    assert (result.outcome, result.written) == (IMPORTED, 2)
    assert sorted(row[3:8] for row in held(engine)) == [(10_000, 1_000, 4_000, 3_000, 2_000),
                                                       (1_234_500, None, None, None, None)]


def test_a_gbk_file_as_a_head_end_writes_it(engine, clock, meters):
    data = ("表号,冻结时间,正向有功总(kWh),尖(kWh),峰(kWh),平(kWh),谷(kWh)\r\n"
            "FLAT-1,2026-11-26 00:00,1234.56,,,,\r\n"
            "未知表,2026-11-26 00:00,1.00,,,,\r\n").encode("gbk")
    assert data.startswith("表号".encode("gbk")) and b"\xb1\xed\xba\xc5" in data  # 表号 in GBK bytes
    result = run(engine, clock, data, skip_bad=True)
    assert (result.written, result.report) == (1, "第3行 [unknown_meter] 表号 未知表 不存在")


def test_a_utf8_file_with_a_bom(engine, clock, meters):
    data = b"\xef\xbb\xbf" + ami(GOOD, ALSO_GOOD)
    result = run(engine, clock, data)
    assert (result.outcome, result.written) == (IMPORTED, 2)


def test_progress_is_reported_for_checking_and_writing(engine, clock, meters):
    seen = []
    run(engine, clock, ami(GOOD, ALSO_GOOD), progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert seen == [("check", 2, 2), ("write", 2, 2)]


def test_reads_counted_in_the_database_match_the_batch(engine, clock, meters):
    lines = [f"TOU-1,2026-11-{day:02d} 00:00,{day}.00,,{day}.00,," for day in range(1, 27)]
    result = run(engine, clock, ami(*lines))
    with read_session(engine) as db:
        assert db.exec(select(func.count()).select_from(Read)).scalar() == result.written == 26
