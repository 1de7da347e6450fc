"""Manual reads (抄表 by a reader): what the meter should show today, and saving what it does show.

The expected range, shown before saving, comes from the meter's own history of actual reads
(estimates are left out): the last actual read before today, and the average daily use over the
``trailing_days`` before it (from the earliest actual read in that window, or the one read before
the last if the window holds none).  With ``use = average daily use x days since the last read``:

    low  = last + use x low_percent / 100
    high = last + max(use x high_percent / 100, use + min_band_wh)

``min_band_wh`` keeps a meter that used next to nothing (a vacant flat) from having a range of
zero width.  With one actual read only there is no average: anything from the last read up is
in range.  With none there is no range.

A read outside the range, below the last read, with a register that went back, or with 尖峰平谷
registers that do not add up to the total is *unusual*: it is saved only when the reader confirms
that very value with a note, and then it opens a review item (rule
``reader_confirmed_out_of_range``).  A read of a meter with an open re-read order assigned to the
reader answers that order (``billing.review_actions.reread_done``: resolved if the read agrees,
else back to the reviewers).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from billing import kwh
from billing.accounts import Account, Meter
from billing.errors import InvalidInput
from billing.read_rules import ReadRules, check_reads
from billing.reads import ESTIMATED, MANUAL_READ, REGISTERS, VALID, NewRead, Read, record_read
from billing.review import READ_FINDING, open_item
from billing.review_actions import reread_done
from billing.review_queue import rereads_for

OUT_OF_RANGE_RULE = "reader_confirmed_out_of_range"
NOTE_MAX = 200  # Read.note
SHOWN_READS = 4  # the last reads on the entry page
# Unusual: below the last read (a misread, a register rollover or a changed meter), use below or
# above the range, a 尖峰平谷 register below its last value, registers not adding up to the total.
BELOW_LAST, LOW_USE, HIGH_USE, REGISTER_BACK, REGISTER_SUM = (
    "below_last", "low_use", "high_use", "register_back", "register_sum")


class ReadingMissing(InvalidInput):
    code = "reading_missing"


class ReadingFormat(InvalidInput):
    code = "reading_format"


class NoteMissing(InvalidInput):
    """An unusual read confirmed without saying why."""

    code = "reading_note_missing"


class EntryInvalid(InvalidInput):
    """One or more fields of a read are wrong; ``problems`` holds one error per field."""

    code = "reading_invalid"

    def __init__(self, problems: list[InvalidInput]) -> None:
        super().__init__(problems[0].field, "; ".join(str(problem) for problem in problems))
        self.problems = problems


class Unconfirmed(InvalidInput):
    """An unusual read that the reader has not confirmed yet: nothing was saved."""

    code = "reading_unconfirmed"

    def __init__(self, assessment: Assessment) -> None:
        super().__init__("total", f"unusual read: {', '.join(assessment.unusual)}")
        self.assessment = assessment


@dataclass(frozen=True)
class RangeRule:
    """The thresholds of the expected range (the portal passes them from its settings)."""

    low_percent: int = 50
    high_percent: int = 200
    min_band_wh: int = 10_000
    trailing_days: int = 90


@dataclass(frozen=True)
class ExpectedRange:
    last: Read | None  # the last actual read before today
    days: int = 0  # since it
    average_daily_wh: int | None = None
    expected_wh: int | None = None  # the total register expected today
    low_wh: int | None = None
    high_wh: int | None = None  # None: no upper bound (too little history)


@dataclass(frozen=True)
class Entry:
    """What the reader typed, in Wh."""

    total_wh: int
    registers_wh: dict[str, int] = field(default_factory=dict)
    note: str = ""

    @property
    def values_key(self) -> str:
        """The values as one string: a confirmation holds for exactly the values it was shown."""
        return " ".join([str(self.total_wh), *(f"{name}={self.registers_wh[name]}" for name in sorted(self.registers_wh))])


@dataclass(frozen=True)
class Assessment:
    expected: ExpectedRange
    unusual: tuple[str, ...]  # empty: a usual read


@dataclass(frozen=True)
class Saved:
    read: Read
    outcome: str  # record_read's: created, duplicate, superseded
    assessment: Assessment
    review_item_id: int | None = None  # the item an unusual read opened
    rereads: tuple[tuple[int, bool], ...] = ()  # the re-read orders it answered, and whether it agreed


def parse_kwh(text: object, field_name: str) -> int:
    """``"1234.56"`` kWh -> ``1234560`` Wh (``billing.kwh``), telling an empty field from a wrong one;
    full-width digits, as some phone keyboards type them, count as digits."""
    if not isinstance(text, str) or not text.strip():
        raise ReadingMissing(field_name, "required")
    try:
        return kwh.parse_kwh(unicodedata.normalize("NFKC", text), field_name)
    except InvalidInput as wrong:
        raise ReadingFormat(field_name, wrong.message) from None


def meter_registers(meter: Meter, last: Read | None) -> tuple[str, ...]:
    """The 尖峰平谷 registers a reader enters: none for a plain meter; for a TOU meter those its
    last read had (峰谷 on most households), or all four if it has no read yet."""
    if not meter.tou:
        return ()
    held = tuple(name for name in REGISTERS if last is not None and getattr(last, f"{name}_wh") is not None)
    return held or REGISTERS


def parse_entry(form: Mapping[str, str], registers: tuple[str, ...]) -> Entry:
    """The form's total, registers and note; every bad field is reported at once."""
    values, problems = {}, []
    for name in ("total", *registers):
        try:
            values[name] = parse_kwh(form.get(name), name)
        except InvalidInput as problem:
            problems.append(problem)
    if problems:
        raise EntryInvalid(problems)
    note = " ".join(form.get("note", "").split())[:NOTE_MAX]
    return Entry(values.pop("total"), values, note)


def recent_reads(session: Session, meter_id: int, limit: int = SHOWN_READS) -> list[Read]:
    return list(session.exec(select(Read).where(Read.meter_id == meter_id, Read.status == VALID)
                             .order_by(Read.read_on.desc()).limit(limit)))


def _actual(session: Session, meter_id: int, *conditions, latest: bool = True) -> Read | None:
    order = Read.read_on.desc() if latest else Read.read_on
    return session.exec(select(Read).where(Read.meter_id == meter_id, Read.status == VALID,
                                           Read.source != ESTIMATED, *conditions).order_by(order)).first()


def expected_range(session: Session, meter_id: int, day: date, rule: RangeRule) -> ExpectedRange:
    last = _actual(session, meter_id, Read.read_on < day)
    if last is None:
        return ExpectedRange(None)
    days = (day - last.read_on).days
    window = last.read_on - timedelta(days=rule.trailing_days)
    first = (_actual(session, meter_id, Read.read_on >= window, Read.read_on < last.read_on, latest=False)
             or _actual(session, meter_id, Read.read_on < last.read_on))
    if first is None or first.total_wh > last.total_wh:  # no history, or a rollover or meter change in it
        return ExpectedRange(last, days, low_wh=_face(last.total_wh))
    span, used = (last.read_on - first.read_on).days, last.total_wh - first.total_wh
    use = used * days // span
    low = last.total_wh + use * rule.low_percent // 100
    high = last.total_wh + max(use * rule.high_percent // 100, use + rule.min_band_wh)
    # To the 0.01 kWh a meter face shows, inward: what is shown is exactly what is checked.
    return ExpectedRange(last, days, average_daily_wh=used // span, expected_wh=last.total_wh + use,
                         low_wh=-(-low // 10) * 10, high_wh=max(high // 10 * 10, -(-low // 10) * 10))


def _face(wh: int) -> int:
    """What a meter face shows of ``wh``: whole 0.01 kWh (a smart meter's read may be finer)."""
    return wh // 10 * 10


def assess(entry: Entry, expected: ExpectedRange) -> Assessment:
    unusual, last = [], expected.last
    if last is not None and entry.total_wh < _face(last.total_wh):
        unusual.append(BELOW_LAST)
    elif expected.low_wh is not None and entry.total_wh < expected.low_wh:
        unusual.append(LOW_USE)
    elif expected.high_wh is not None and entry.total_wh > expected.high_wh:
        unusual.append(HIGH_USE)
    if last is not None and any(value < _face(getattr(last, f"{name}_wh") or 0) for name, value in entry.registers_wh.items()):
        unusual.append(REGISTER_BACK)
    if entry.registers_wh and sum(entry.registers_wh.values()) != entry.total_wh:
        unusual.append(REGISTER_SUM)
    return Assessment(expected, tuple(unusual))


def save_manual_read(session: Session, *, meter_id: int, day: date, reader_id: int, entry: Entry, rule: RangeRule,
                     now: datetime, confirmed: str | None = None, photo: str | None = None,
                     checks: ReadRules | None = None) -> Saved:
    """Save a reader's read of ``meter_id`` taken on ``day``.

    An unusual read raises ``Unconfirmed`` unless ``confirmed`` is its ``values_key`` (the reader
    saw the warning for these very values), and ``NoteMissing`` unless it has a note.  A different read
    already held that day raises ``billing.reads.ReadConflict``.  With ``checks``, a new read runs the
    read rules for that meter and day, as an import does; a confirmed unusual read does not, being in
    the queue with the reader's note already."""
    assessment = assess(entry, expected_range(session, meter_id, day, rule))
    if assessment.unusual and confirmed != entry.values_key:
        raise Unconfirmed(assessment)
    if assessment.unusual and not entry.note:
        raise NoteMissing("note", "an unusual read needs a note")
    read, outcome = _record(session, NewRead(
        meter_id=meter_id, read_on=day, source=MANUAL_READ, total_wh=entry.total_wh,
        registers_wh=entry.registers_wh, reader_id=reader_id, note=entry.note, photo=photo), now)
    item_id = _open_finding(session, read, assessment, now) if assessment.unusual else None
    if checks is not None and outcome != "duplicate" and item_id is None:
        check_reads(session, rules=checks, first=day, last=day, now=now, meter_ids=[meter_id])
    answered = tuple((item.id, reread_done(session, item, read, now))
                     for item in rereads_for(session, reader_id) if item.meter_id == meter_id)
    return Saved(read, outcome, assessment, item_id, answered)


def _record(session: Session, new: NewRead, now: datetime) -> tuple[Read, str]:
    """``record_read``, once more if another transaction saved that meter's read of the day
    between our look and our insert (a second tap of the button on a slow connection): the second
    look finds it, as the same read (``duplicate``) or a conflicting one."""
    try:
        with session.begin_nested():
            return record_read(session, new, now=now)
    except IntegrityError:
        return record_read(session, new, now=now)


def _open_finding(session: Session, read: Read, assessment: Assessment, now: datetime) -> int | None:
    """The review item of a confirmed unusual read; the read itself holds the registers, the
    reader and the photo."""
    expected, last = assessment.expected, assessment.expected.last
    account = session.exec(select(Account).where(Account.meter_id == read.meter_id)).first()
    return open_item(session, kind=READ_FINDING, rule=OUT_OF_RANGE_RULE, subject_on=read.read_on, at=now,
                     meter_id=read.meter_id, read_id=read.id, account_id=account.id if account else None,
                     district_id=account.district_id if account else None, detail={
                         "unusual": list(assessment.unusual), "total_wh": read.total_wh,
                         "low_wh": expected.low_wh, "high_wh": expected.high_wh, "expected_wh": expected.expected_wh,
                         "previous_wh": last.total_wh if last else None, "previous_on": last.read_on if last else None,
                         "note": read.note})
