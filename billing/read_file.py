"""Smart-meter (AMI) daily freeze files as a head-end exports them: decoded, parsed and checked.

The layout (README, "Importing reads"), UTF-8 with or without a BOM, or GBK::

    表号,冻结时间,正向有功总(kWh),尖(kWh),峰(kWh),平(kWh),谷(kWh)
    M3300000001,2026-11-30 00:00,12345.67,,7654.32,,4691.35
    ZTQ-CG01,2026-11-30 00:00,881234.50,,,,

One row per meter and day: the 00:00 (Beijing) freeze of that day, registers in kWh with at most
two decimals, parsed digit by digit into integer Wh (never through float).  The 尖峰平谷 cells are
empty for a meter without time-of-use registers; for one with them, the registers given must add up
to the total exactly.  District supply meters (考核表) come the same way, by their meter number.

A million rows must parse in a second or two, so a row in the head-end's own form takes a fast path
of a few dict lookups; anything else (spaces, seconds in the time, a day not seen yet, a bad value)
goes to ``_Scan.diagnose``, which accepts the row as meant or names its problem.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import NamedTuple

COLUMNS = ("表号", "冻结时间", "正向有功总(kWh)", "尖(kWh)", "峰(kWh)", "平(kWh)", "谷(kWh)")
VALUE_COLUMNS = ("正向有功总", "尖", "峰", "平", "谷")
_HEADER = ("表号", "冻结时间", *VALUE_COLUMNS)
_HEADER_NOISE = str.maketrans({"（": "(", "）": ")", " ": None, "\u3000": None, "\ufeff": None})
_KWH, _NO_KWH = r"([0-9]{1,10})\.([0-9]{2})", r"(?:([0-9]{1,10})\.([0-9]{2}))?"  # what head-ends write: 12345.67
_CANONICAL_ROW = re.compile(rf'([^,"]+),([^,"]+),{_KWH},{_NO_KWH},{_NO_KWH},{_NO_KWH},{_NO_KWH}\r?').fullmatch
_NUMBER = re.compile(r"([0-9]+)(?:\.([0-9]*))?").fullmatch
_FREEZE = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?").fullmatch
MAX_DIGITS = 10  # 9,999,999,999.99 kWh: more than any register shows
PROGRESS_STEP = 1 << 16
SHOWN_CHARS = 24  # a bad value is quoted back at most this long


class Problem(NamedTuple):
    """A bad line: its number in the file (1 is the header), a stable code, the values to name."""

    line: int
    code: str
    detail: dict


class FileRefused(Exception):
    """The file as a whole cannot be read (encoding, header, no rows): no row can be trusted."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.code)
        self.problem = problem


@dataclass
class Day:
    """One freeze day of the file, and the first row of each meter on it (to find repeats)."""

    on: date
    iso: str
    rows: dict[int, tuple] = field(default_factory=dict)


@dataclass
class ParsedFile:
    """Good rows, as ``(meter_id, read_on, total_wh, sharp_wh, peak_wh, flat_wh, valley_wh, line)``,
    in file order; the problems; how many data rows there were and how many repeated an earlier row."""

    rows: list[tuple]
    problems: list[Problem]
    days: dict[str, Day]  # by ISO date
    rows_total: int = 0
    repeated: int = 0


@dataclass(frozen=True)
class Meters:
    """Meter numbers the file may name: smart ones as (id, has TOU registers); manual ones by id."""

    smart: dict[str, tuple[int, bool]]
    manual: dict[str, int]

    @cached_property
    def numbers(self) -> dict[int, str]:
        """Smart meters' numbers by id, to name them in a report."""
        return {meter_id: number for number, (meter_id, _) in self.smart.items()}


def decode(data: bytes) -> str:
    """Head-ends and Excel in China write GBK; everything else UTF-8, perhaps with a BOM."""
    if b"\0" in data:  # an .xlsx or a UTF-16 file renamed to .csv
        raise FileRefused(Problem(_line_of(data, data.index(b"\0")), "not_text", {}))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as utf8:
        try:
            return data.decode("gbk")
        except UnicodeDecodeError as gbk:  # the one that read further is the file's encoding, broken there
            raise FileRefused(Problem(_line_of(data, max(utf8.start, gbk.start)), "encoding", {})) from None


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def parse(text: str, meters: Meters, today: date, progress: Callable[[int, int], None] | None = None) -> ParsedFile:
    """Every row checked; raises ``FileRefused`` when the header is missing or there are no rows.
    ``progress(lines done, lines)`` is called every ``PROGRESS_STEP`` lines."""
    lines = text.split("\n")
    if lines[-1] == "":  # the file's last line break
        lines.pop()
    first = lines[0].rstrip("\r") if lines else ""
    header = [cell.translate(_HEADER_NOISE).replace("(kWh)", "").replace("(kwh)", "")
              for cell in next(csv.reader([first]), [])]
    while header and not header[-1]:  # spreadsheets pad rows with empty cells
        header.pop()
    if tuple(header) != _HEADER:
        raise FileRefused(Problem(1, "header", {"expected": ",".join(COLUMNS), "found": _shown(first, 80)}))
    scan = _Scan(meters, today)
    for start in range(1, len(lines), PROGRESS_STEP):
        scan.lines(lines[start:start + PROGRESS_STEP], start + 1)
        if progress is not None:
            progress(min(start + PROGRESS_STEP, len(lines)) - 1, len(lines) - 1)
    return scan.finish()


class _Scan:
    """The rows of a file, line by line: a fast path for the head-end's own form, and ``diagnose``
    (every rule spelt out, each failure named) for everything else."""

    def __init__(self, meters: Meters, today: date) -> None:
        self.meters, self.today = meters, today
        self.days: dict[str, Day] = {}  # by the freeze cell as written
        self.parsed = ParsedFile([], [], {})
        self.clashes: dict[int, tuple[int, str, Day, int]] = {}  # first line -> other line, meter no, day, meter id

    def lines(self, lines: list[str], first_line: int) -> None:
        smart, days, canonical, rows = self.meters.smart, self.days, _CANONICAL_ROW, self.parsed.rows
        for line, text_line in enumerate(lines, start=first_line):
            row, match = None, canonical(text_line)
            if match is not None:  # a meter and a day seen before: a few lookups and sums, no calls
                number, freeze, total, cents, sharp, sharp_cents, peak, peak_cents, flat, flat_cents, valley, \
                    valley_cents = match.groups()
                meter, day = smart.get(number), days.get(freeze)
                if meter is not None and day is not None:
                    total = int(total + cents) * 10
                    if not meter[1]:
                        if sharp is None and peak is None and flat is None and valley is None:
                            row = (meter[0], day.iso, total, None, None, None, None, line)
                    else:
                        sharp = int(sharp + sharp_cents) * 10 if sharp else None
                        peak = int(peak + peak_cents) * 10 if peak else None
                        flat = int(flat + flat_cents) * 10 if flat else None
                        valley = int(valley + valley_cents) * 10 if valley else None
                        if (sharp or 0) + (peak or 0) + (flat or 0) + (valley or 0) == total and (
                                sharp is not None or peak is not None or flat is not None or valley is not None):
                            row = (meter[0], day.iso, total, sharp, peak, flat, valley, line)
            if row is None:
                row = self.diagnose(line, text_line)
                if row is None:
                    continue
                day = self.parsed.days[row[1]]
            first = day.rows.setdefault(row[0], row)
            if first is row:
                rows.append(row)
            elif first[2:7] == row[2:7]:
                self.parsed.repeated += 1
            else:
                self._clash(line, first, row, text_line, day)

    def _clash(self, line: int, first: tuple, row: tuple, text_line: str, day: Day) -> None:
        number = next(csv.reader([text_line]))[0].strip()
        self._bad(line, "repeated_differently", other_line=first[7], meter_no=_shown(number), day=day.iso)
        self.clashes.setdefault(first[7], (line, number, day, row[0]))

    def finish(self) -> ParsedFile:
        parsed = self.parsed
        if self.clashes:  # neither of two different freezes of one meter and day can be trusted
            parsed.rows = [row for row in parsed.rows if row[7] not in self.clashes]
            for first_line, (line, number, day, meter_id) in self.clashes.items():
                self._bad(first_line, "repeated_differently", other_line=line, meter_no=_shown(number), day=day.iso)
                del day.rows[meter_id]
        parsed.problems.sort(key=lambda problem: problem.line)
        parsed.rows_total = len(parsed.rows) + parsed.repeated + len({problem.line for problem in parsed.problems})
        if parsed.rows_total == 0:
            raise FileRefused(Problem(1, "no_rows", {}))
        return parsed

    def diagnose(self, line: int, text_line: str) -> tuple | None:
        """The row as meant, or None (a blank line, or a bad one: its problem is recorded)."""
        try:
            cells = [cell.strip() for row in csv.reader([text_line.rstrip("\r")], strict=True) for cell in row]
        except csv.Error:  # an unbalanced quote
            return self._bad(line, "quote")
        while len(cells) > 7 and not cells[-1]:  # spreadsheets pad rows with empty cells
            cells.pop()
        if not any(cells):
            return None
        if len(cells) != 7:
            return self._bad(line, "columns", found=len(cells))
        number, freeze = cells[0], cells[1]
        meter = self.meters.smart.get(number)
        if meter is None:
            return self._bad(line, "not_smart" if number in self.meters.manual else "unknown_meter",
                             meter_no=_shown(number))
        day = self._day(line, freeze)
        values = [self._kwh(line, column, cell) for column, cell in zip(VALUE_COLUMNS, cells[2:])]
        if day is None or _FAILED in values:
            return None
        return self._registers(line, meter, day, number, values)

    def _registers(self, line: int, meter: tuple[int, bool], day: Day, number: str, values: list) -> tuple | None:
        total, registers = values[0], values[1:]
        given = [value for value in registers if value is not None]
        if total is None:
            return self._bad(line, "no_total")
        if not meter[1] and given:
            return self._bad(line, "registers_unexpected", meter_no=number)
        if meter[1] and not given:
            return self._bad(line, "registers_missing", meter_no=number)
        if given and sum(given) != total:
            return self._bad(line, "registers_sum", sum_kwh=kwh_text(sum(given)), total_kwh=kwh_text(total))
        return (meter[0], day.iso, total, *registers, line)

    def _bad(self, line: int, code: str, **detail) -> None:
        self.parsed.problems.append(Problem(line, code, detail))

    def _day(self, line: int, text: str) -> Day | None:
        known = self.days.get(text)
        if known is not None:
            return known
        match = _FREEZE(text)
        try:
            day = date(int(match[1]), int(match[2]), int(match[3])) if match else None
        except ValueError:
            day = None
        if day is None:
            return self._bad(line, "freeze_format", value=_shown(text))
        if match[4] is not None and (int(match[4]), int(match[5]), int(match[6] or 0)) != (0, 0, 0):
            return self._bad(line, "freeze_not_midnight", value=text)
        if day > self.today:
            return self._bad(line, "future", day=day.isoformat(), today=self.today.isoformat())
        known = self.parsed.days.setdefault(day.isoformat(), Day(day, day.isoformat()))
        self.days[text] = known
        return known

    def _kwh(self, line: int, column: str, text: str) -> int | None | object:
        """Integer Wh from kWh with at most two decimals; None for an empty cell."""
        if not text:
            return None
        match = _NUMBER(text.removeprefix("-"))
        code = None
        if match is None:
            code = "not_number"
        elif text.startswith("-"):
            code = "negative"
        elif len(match[2] or "") > 2:
            code = "decimals"
        elif len(match[1]) > MAX_DIGITS:
            code = "too_large"
        if code:
            self._bad(line, code, column=column, value=_shown(text))
            return _FAILED
        return int(match[1] + (match[2] or "").ljust(3, "0"))


_FAILED = object()  # a value cell whose problem is already recorded


def kwh_text(wh: int) -> str:
    """Wh as the kWh a head-end would show: 1234560 -> 1234.56."""
    return f"{wh // 1000}.{wh % 1000:03d}".rstrip("0").rstrip(".")


def _shown(text: str, limit: int = SHOWN_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


MESSAGES = {
    "not_text": "不是文本文件（含 NUL 字节，可能是 .xlsx 或 UTF-16 文件）",
    "encoding": "既不是 UTF-8 也不是 GBK 编码",
    "header": "缺少表头或表头不对：应为 {expected}，实际为 {found}",
    "no_rows": "文件没有数据行",
    "columns": "应有 7 列，实际 {found} 列",
    "quote": "引号不成对",
    "unknown_meter": "表号 {meter_no} 不存在",
    "not_smart": "表号 {meter_no} 是人工抄表的表，不是智能表",
    "freeze_format": "冻结时间 {value} 无法识别，应为 YYYY-MM-DD 00:00",
    "freeze_not_midnight": "冻结时间 {value} 不是零点（00:00）冻结",
    "future": "冻结日 {day} 晚于今天 {today}",
    "not_number": "{column} {value} 不是数字",
    "negative": "{column} {value} 是负数",
    "decimals": "{column} {value} 超过两位小数",
    "too_large": "{column} {value} 超过 10 位整数",
    "no_total": "正向有功总为空",
    "registers_unexpected": "表号 {meter_no} 不是分时表，尖峰平谷应为空",
    "registers_missing": "表号 {meter_no} 是分时表，缺少尖峰平谷示数",
    "registers_sum": "尖峰平谷之和 {sum_kwh} kWh 不等于正向有功总 {total_kwh} kWh",
    "repeated_differently": "与第 {other_line} 行同为表号 {meter_no} {day} 的冻结，示数却不同",
    "held_differently": "表号 {meter_no} {day} 已有不同的有效示数 {held_kwh} kWh（{source}），请复核后更正",
}


def describe(problem: Problem) -> str:
    """One report line: 第12行 [unknown_meter] 表号 M999 不存在."""
    return f"第{problem.line}行 [{problem.code}] {MESSAGES[problem.code].format(**problem.detail)}"
