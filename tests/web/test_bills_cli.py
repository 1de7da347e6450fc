"""``dianfei bills late-fee`` as the counter runs it: the computation as JSON, bad input as one line."""

import json
from datetime import UTC, date, datetime

import pytest

from billing.clock import beijing_date
from billing.money import round_half_up
from tests.web.test_cli import dianfei


def late_fee(*args: str, tmp_path, **env: str):
    return dianfei("bills", "late-fee", *args, tmp_path=tmp_path, **env)


def test_a_non_residential_bill_paid_after_new_year(tmp_path):
    result = late_fee("--category", "non_residential", "--arrears", "10000.00", "--due", "2025-12-20",
                      "--paid", "2026-01-05", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    # 11 days of 2025 at 2‰ (220 元) and 5 days of 2026 at 3‰ (150 元)
    assert json.loads(result.stdout) == {
        "category": "non_residential", "arrears_fen": 1000000, "arrears_yuan": "10000.00",
        "due": "2025-12-20", "paid": "2026-01-05", "days": 16, "rates_permille": [2, 3],
        "parts": [
            {"from": "2025-12-21", "to": "2025-12-31", "days": 11, "rate_permille": 2, "cross_year": False,
             "exact_millifen": 22000000, "exact_yuan": "220.00000"},
            {"from": "2026-01-01", "to": "2026-01-05", "days": 5, "rate_permille": 3, "cross_year": True,
             "exact_millifen": 15000000, "exact_yuan": "150.00000"},
        ],
        "exact_millifen": 37000000, "exact_yuan": "370.00000", "rounding": "half-up to the fen, once on the total",
        "minimum_applied": False, "late_fee_fen": 37000, "late_fee_yuan": "370.00",
    }
    assert result.stderr == ""


def test_paid_defaults_to_today_in_beijing_and_needs_no_database(tmp_path):
    """The counter asks "how much if I pay today"; the arithmetic works with the database unreachable."""
    before = beijing_date(datetime.now(UTC))
    result = late_fee("--category", "residential", "--arrears", "50", "--due", "2020-01-01", tmp_path=tmp_path,
                      DATABASE_URL="postgresql://nobody@127.0.0.1:9/nowhere")
    after = beijing_date(datetime.now(UTC))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["paid"] in (before.isoformat(), after.isoformat())
    # 50.00 元 x 1‰ = 5 fen a day since 1 January 2020
    days = (date.fromisoformat(answer["paid"]) - date(2020, 1, 1)).days
    assert (answer["days"], answer["exact_millifen"]) == (days, 5000 * days)
    assert answer["late_fee_fen"] == round_half_up(5000 * days, 1000)


def test_the_1_yuan_minimum_is_said(tmp_path):
    result = late_fee("--category", "residential", "--arrears", "50.00", "--due", "2026-03-10", "--paid", "2026-03-13",
                      tmp_path=tmp_path)
    answer = json.loads(result.stdout)
    assert (answer["exact_yuan"], answer["minimum_applied"], answer["late_fee_yuan"]) == ("0.15000", True, "1.00")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--category", "commercial", "--arrears", "1", "--due", "2026-01-01"),
         "--category: 'commercial' is not one of residential, non_residential, large_industry"),
        (("--category", "residential", "--arrears", "-5", "--due", "2026-01-01"), "--arrears: must not be negative"),
        (("--category", "residential", "--arrears", "1.234", "--due", "2026-01-01"),
         "--arrears: '1.234' is not a yuan amount such as '12.30'"),
        (("--category", "residential", "--arrears", "1e3", "--due", "2026-01-01"),
         "--arrears: '1e3' is not a yuan amount such as '12.30'"),
        (("--category", "residential", "--arrears", "1", "--due", "2026-02-30"),
         "--due: '2026-02-30' is not a date of the calendar"),
        (("--category", "residential", "--arrears", "1", "--due", "20260201"),
         "--due: '20260201' is not a date such as 2026-03-15"),
        (("--category", "residential", "--arrears", "1", "--due", "2026-02-01", "--paid", "yesterday"),
         "--paid: 'yesterday' is not a date such as 2026-03-15"),
        (("--category", "residential", "--arrears", "1", "--due", "2026-02-01", "--paid", "2026-01-31"),
         "--paid: 2026-01-31 is before the due date 2026-02-01: nothing is overdue yet"),
        (("--arrears", "1", "--due", "2026-01-01"), "--category: required"),
        (("--category", "residential", "--due", "2026-01-01"), "--arrears: required"),
        (("--category", "residential", "--arrears", "1"), "--due: required"),
        (("--category", "large_industry", "--arrears", "9999999999999999.99", "--due", "2000-01-01",
          "--paid", "2010-01-01"), "--arrears: the late fee would exceed the largest amount the ledger holds"),
    ],
)
def test_bad_input_is_one_line_naming_the_option(tmp_path, args, says):
    result = late_fee(*args, tmp_path=tmp_path)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"Error: {says}\n"
