"""The AMI file parser: kWh to exact Wh, and the fast path agreeing with the careful one."""

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from billing.read_file import Meters, parse

HEADER = "表号,冻结时间,正向有功总(kWh),尖(kWh),峰(kWh),平(kWh),谷(kWh)"
METERS = Meters({"FLAT": (1, False), "TOU": (2, True)}, {})
TODAY = date(2026, 11, 27)
MANY = Meters({"PRIME": (99, False), **{f"M{n}": (n, n % 2 == 0) for n in range(1, 41)}}, {})


def _rows(*lines: str) -> list[tuple]:
    return parse("\n".join([HEADER, *lines]), METERS, TODAY).rows


def test_kwh_become_exact_wh():
    rows = _rows("FLAT,2026-11-26 00:00,0.01,,,,", "FLAT,2026-11-25 00:00,9999999999.99,,,,",
                 "FLAT,2026-11-24 00:00,0.1,,,,", "FLAT,2026-11-23 00:00,7,,,,", "FLAT,2026-11-22 00:00,2.30,,,,")
    assert [row[2] for row in rows] == [10, 9_999_999_999_990, 100, 7_000, 2_300]


def _cell(wh: int | None, padded: bool) -> str:
    if wh is None:
        return ""
    text = f"{wh // 1000}.{wh % 1000 // 10:02d}"
    return f" {text.rstrip('0').rstrip('.') or '0'} " if padded else text


READINGS = st.lists(st.lists(st.one_of(st.none(), st.integers(0, 10**12)), min_size=5, max_size=5), min_size=1,
                    max_size=len(MANY.smart) - 1)


@given(READINGS)
def test_the_fast_path_and_the_careful_one_read_the_same(readings):
    """Each meter's freeze written twice: as a head-end writes it (after a first row of the day, the
    fast path takes it) and padded with spaces, trailing zeros dropped (only the careful path reads
    that).  Both must give the same rows."""
    fast, careful = ["PRIME,2026-11-26 00:00,1.00,,,,"], ["PRIME,2026/11/26 00:00:00,1.00,,,,"]
    for n, values in enumerate(readings, start=1):
        tou = MANY.smart[f"M{n}"][1]
        registers = [None if wh is None else wh // 10 * 10 for wh in values[1:]] if tou else [None] * 4
        if tou and registers == [None] * 4:
            registers[1] = 0
        total = sum(wh or 0 for wh in registers) if tou else (values[0] or 0) // 10 * 10
        for lines, padded, freeze in ((fast, False, "2026-11-26 00:00"), (careful, True, "2026/11/26 00:00:00")):
            lines.append(",".join([f"M{n}", freeze, _cell(total, padded), *(_cell(wh, padded) for wh in registers)]))
    assert parse("\n".join([HEADER, *fast]), MANY, TODAY).rows == parse("\n".join([HEADER, *careful]), MANY, TODAY).rows
