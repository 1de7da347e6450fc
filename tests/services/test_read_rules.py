"""The validation rules on hand-built reads, each found where it should be and not where it should
not, on both databases; findings open review items with their evidence, once."""

from datetime import date

import pytest

from billing import ledger
from billing.accounts import MANUAL, PREPAID, VACANT, Meter
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput
from billing.ledger import Posting
from billing.read_rules import ReadRules, check_reads
from billing.reads import MANUAL_READ
from billing.review import ReviewItem, open_items
from tests import factories
from tests.read_helpers import DAY, TODAY, old_account, reads, steady

RULES = ReadRules()
END = TODAY - DAY  # the last read of most histories: 2026-11-26
START = END - 39 * DAY


def check(engine, clock, first=END, last=END, **kwargs) -> dict[str, int]:
    with unit_of_work(engine) as db:
        return check_reads(db, rules=kwargs.pop("rules", RULES), first=first, last=last, now=clock(), **kwargs)


def items(engine, rule: str) -> list[ReviewItem]:
    with read_session(engine) as db:
        return [item for item in open_items(db) if item.rule == rule]


def history(engine, clock, totals, **fields):
    """An account whose smart meter read ``totals`` on the days up to END."""
    with unit_of_work(engine) as db:
        account = old_account(db, **fields)
        reads(db, account.meter_id, END - (len(totals) - 1) * DAY, totals, clock)
        return account


def test_steady_use_finds_nothing(engine, clock):
    history(engine, clock, steady(1_000_000, 10_000, 40))
    assert check(engine, clock, first=START + DAY) == {}


def test_a_drop_is_a_misread_with_the_reads_around_it(engine, clock):
    account = history(engine, clock, [*steady(1_000_000, 10_000, 39), 1_000_000])
    assert check(engine, clock) == {"negative_use": 1}
    (item,) = items(engine, "negative_use")
    assert (item.meter_id, item.account_id, item.subject_on) == (account.meter_id, account.id, END)
    assert (item.details["previous_wh"], item.details["read_wh"], item.details["read_on"]) == (
        1_380_000, 1_000_000, END.isoformat())
    assert item.details["drop_wh"] == 380_000
    assert check(engine, clock) == {}  # checked again: nothing new


def test_a_register_that_wraps_past_99999_99_kwh_is_a_rollover(engine, clock):
    history(engine, clock, [*steady(99_600_000, 10_000, 39), 2_000])
    assert check(engine, clock) == {"rollover": 1}
    (item,) = items(engine, "rollover")
    assert item.details["used_wh"] == 100_000_000 - 99_980_000 + 2_000
    assert item.details["register_max_wh"] == 99_999_990
    six_digits = ReadRules(register_digits=6)  # a wider register cannot have wrapped there
    history(engine, clock, [*steady(99_600_100, 10_000, 39), 2_000])
    assert check(engine, clock, rules=six_digits) == {"negative_use": 2}


def test_a_read_below_an_earlier_one_across_a_gap_is_out_of_order(engine, clock):
    history(engine, clock, [*steady(1_000_000, 10_000, 37), 1_000_000, 1_350_000])
    assert check(engine, clock, first=END - DAY) == {"negative_use": 1, "out_of_order": 1}
    (item,) = items(engine, "out_of_order")
    assert item.subject_on == END and item.details["earlier_wh"] == 1_360_000


def test_two_meters_of_a_district_reading_the_same_on_two_days_are_a_duplicate(engine, clock):
    with unit_of_work(engine) as db:
        area = factories.district(db)
        first, second, third = (old_account(db, district_=area) for _ in range(3))
        elsewhere = old_account(db)  # the same reads in another district: another concentrator
        reads(db, elsewhere.meter_id, END - DAY, [5_000_000, 5_010_000], clock)
        for account, totals in ((first, [5_000_000, 5_010_000]), (second, [5_000_000, 5_010_000]),
                                (third, [5_000_000, 5_020_000])):  # third matches on one day only
            reads(db, account.meter_id, END - DAY, totals, clock)
        first_no = db.get(Meter, first.meter_id).meter_no
    assert check(engine, clock) == {"duplicate_read": 1}
    (item,) = items(engine, "duplicate_read")
    assert item.meter_id == second.meter_id and item.details["other_meter"] == first_no
    assert check(engine, clock, first=END - DAY) == {}


def test_a_stopped_meter_is_one_finding_when_the_run_reaches_n_days(engine, clock):
    account = history(engine, clock, [*steady(1_000_000, 10_000, 35), *[1_340_000] * 5])
    assert check(engine, clock, first=START, last=END) == {"zero_use": 1}
    (item,) = items(engine, "zero_use")
    assert item.subject_on == END and item.details["since"] == (END - 5 * DAY).isoformat()
    assert item.details["zero_days"] == 5 and item.meter_id == account.meter_id
    history(engine, clock, [*steady(2_000_000, 10_000, 36), *[2_350_000] * 4])  # four days: not yet
    history(engine, clock, [1_000_000] * 40, status=VACANT)  # vacant: expected
    assert check(engine, clock, first=START, last=END) == {}


def test_use_on_a_vacant_account_is_found_once_a_month(engine, clock):
    vacant = history(engine, clock, steady(1_000_000, 2_000, 40), status=VACANT)
    history(engine, clock, steady(1_000_000, 400, 40), status=VACANT)  # standby only: below DIANFEI_READ_IDLE_WH
    assert check(engine, clock, first=START, last=END) == {"inactive_use": 2}
    found = items(engine, "inactive_use")
    assert [item.subject_on for item in found] == [START + DAY, date(2026, 11, 1)]
    assert {item.account_id for item in found} == {vacant.id}
    assert found[0].details["status"] == VACANT and found[0].details["used_wh"] == 2_000


def test_use_far_from_the_trailing_average_is_high_or_low(engine, clock):
    high = history(engine, clock, [*steady(1_000_000, 10_000, 39), 1_380_000 + 40_000])
    low = history(engine, clock, [*steady(1_000_000, 10_000, 39), 1_380_000 + 1_000])
    history(engine, clock, [*steady(1_000_000, 10_000, 39), 1_380_000 + 25_000])  # 2.5x: under 300 %
    assert check(engine, clock) == {"high_use": 1, "low_use": 1}
    (found_high,), (found_low,) = items(engine, "high_use"), items(engine, "low_use")
    assert (found_high.account_id, found_low.account_id) == (high.id, low.id)
    assert found_high.details["average_wh"] == 10_000 and found_high.details["daily_wh"] == 40_000
    assert found_high.details["threshold_percent"] == 300


def test_a_month_against_the_same_month_last_year(engine, clock):
    with unit_of_work(engine) as db:
        tripled, same, third = old_account(db), old_account(db), old_account(db)
        days = [date(2025, 10, 1), date(2025, 11, 1), date(2026, 10, 1), date(2026, 11, 1)]
        for account, totals in ((tripled, [0, 300_000, 5_000_000, 5_900_000]),
                                (same, [0, 300_000, 5_000_000, 5_310_000]), (third, [0, 300_000, 5_000_000, 5_090_000])):
            for day, total in zip(days, totals):
                reads(db, account.meter_id, day, [total], clock, source=MANUAL_READ)
    assert check(engine, clock, first=date(2026, 11, 1), last=date(2026, 11, 1)) == {"year_high": 1, "year_low": 1}
    (low,) = items(engine, "year_low")
    assert (low.account_id, low.details["used_wh"], low.details["threshold_percent"]) == (third.id, 90_000, 40)
    (item,) = items(engine, "year_high")
    assert (item.account_id, item.subject_on) == (tripled.id, date(2026, 10, 1))
    assert (item.details["used_wh"], item.details["last_year_wh"], item.details["month"]) == (900_000, 300_000, "2026-10")


def test_a_prepaid_account_below_zero_that_kept_using_power(engine, clock):
    with unit_of_work(engine) as db:
        failed, cut, paid = (old_account(db, regime=PREPAID) for _ in range(3))
        for account in (failed, cut):
            ledger.post(db, Posting(f"settle:{account.account_no}", ledger.customer_code(account.account_no),
                                    "revenue:energy", 5_000, "energy"), at=clock() - 10 * DAY)
        reads(db, failed.meter_id, START, steady(1_000_000, 8_000, 40), clock)
        reads(db, cut.meter_id, START, [*steady(2_000_000, 8_000, 30), *[2_232_000] * 10], clock)
        reads(db, paid.meter_id, START, steady(3_000_000, 8_000, 40), clock)
    assert check(engine, clock, first=END - 3 * DAY) == {"prepaid_no_cut": 1}
    (item,) = items(engine, "prepaid_no_cut")
    assert (item.account_id, item.subject_on) == (failed.id, TODAY - 10 * DAY)
    assert item.details["balance_fen"] == -5_000 and item.details["used_wh"] == 8 * 8_000  # from 11-18


def test_time_of_use_registers_that_do_not_add_up(engine, clock):
    with unit_of_work(engine) as db:
        account = old_account(db)
        reads(db, account.meter_id, END - DAY, [1_000_000, 1_010_000], clock, registers=[
            {"peak": 600_000, "valley": 400_000}, {"peak": 606_000, "valley": 404_500}])
    assert check(engine, clock, first=END - DAY) == {"tou_mismatch": 1}
    (item,) = items(engine, "tou_mismatch")
    assert item.subject_on == END and item.details["difference_wh"] == 500


def test_a_silent_smart_meter_is_one_finding_from_the_day_it_fell_silent(engine, clock):
    with unit_of_work(engine) as db:
        silent, hiccup = old_account(db), old_account(db)
        reads(db, silent.meter_id, START, steady(1_000_000, 10_000, 30), clock)  # the last on END - 10
        reads(db, hiccup.meter_id, END - 5 * DAY, [1_000_000, 1_010_000, 1_020_000], clock)
        reads(db, hiccup.meter_id, END, [1_050_000], clock)  # two days missing: not yet a gap
    # END-9 .. END are missing: the gap reached 3 days on END-7, and is one item from END-9
    assert check(engine, clock, first=END - 9 * DAY, last=END) == {"ami_gap": 1}
    (item,) = items(engine, "ami_gap")
    assert item.subject_on == END - 9 * DAY and item.details["missing_days"] == 10
    assert check(engine, clock, first=END - 9 * DAY, last=END) == {}


def test_a_manual_meter_read_monthly_is_no_gap(engine, clock):
    with unit_of_work(engine) as db:
        account = factories.account(db, at=clock() - 400 * DAY)
        meter = db.get(Meter, account.meter_id)
        meter.kind = MANUAL
        db.add(meter)
        reads(db, account.meter_id, date(2026, 9, 1), [0], clock, source=MANUAL_READ)
        reads(db, account.meter_id, date(2026, 10, 1), [300_000], clock, source=MANUAL_READ)
        reads(db, account.meter_id, date(2026, 11, 1), [600_000], clock, source=MANUAL_READ)
    assert check(engine, clock, first=date(2026, 11, 1), last=END) == {}


def test_only_the_meters_asked_for_and_never_the_future(engine, clock):
    asked = history(engine, clock, [*steady(1_000_000, 10_000, 39), 500_000])
    history(engine, clock, [*steady(2_000_000, 10_000, 39), 500_000])
    many = [asked.meter_id, *range(10**6, 10**6 + 40_000)]  # an import's worth: more than SQLite's parameters
    assert check(engine, clock, meter_ids=many) == {"negative_use": 1}
    assert [item.account_id for item in items(engine, "negative_use")] == [asked.id]
    with unit_of_work(engine) as db, pytest.raises(InvalidInput) as refused:
        check_reads(db, rules=RULES, first=TODAY, last=TODAY + DAY, now=clock())
    assert refused.value.field == "last"
