"""Importing a smart-meter (AMI) daily freeze file: one ``ReadBatch`` per file, all or nothing.

The file is decoded, parsed and checked first (``billing.read_file``), holding no lock.  Then, in one
write transaction (the write lock on SQLite, a lock on ``meter_read`` against other writers on
PostgreSQL): was this very file (its SHA-256) imported already?  Which of its rows does the database
hold already?  The same values count as duplicates; an estimate is superseded by the actual read
with the difference carried into the next bill (as ``billing.reads.record_read`` does for one read,
here for many at once); any other different read makes the row bad, for a person to decide.

A file with a bad line is refused and nothing is written, not even a batch: the report of every bad
line goes back to whoever ran the import, and running it again once the file is fixed is the whole
remedy.  With ``skip_bad`` the good rows are written and the batch keeps the report.

The result names the meters and days written, for the read rules that run after an import.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session
from sqlmodel import select as select_models

from billing.accounts import SMART, Meter
from billing.clock import beijing_date
from billing.db import bulk_insert, read_session, timestamp_value, writer
from billing.meters import MeterInstallation
from billing.read_file import FileRefused, Meters, ParsedFile, Problem, decode, describe, kwh_text, parse
from billing.reads import AMI, ESTIMATED, REGISTERS, SUPERSEDED, VALID, EstimateCarry, Read, ReadBatch

IMPORTED, ALREADY_IMPORTED, REFUSED = "imported", "already_imported", "refused"
CHUNK = 50_000  # rows per insert statement (and per progress step)
IN_CHUNK = 500  # meter ids per IN (...) when looking for reads already held
INSERTED = ("meter_id", "read_on", "total_wh", *(f"{name}_wh" for name in REGISTERS), "source", "received_at", "batch_id")
VALUES = ("total_wh", *(f"{name}_wh" for name in REGISTERS))

Progress = Callable[[str, int, int], None]  # (stage "check" or "write", done, of)


@dataclass(frozen=True)
class ImportResult:
    """What an import did.  ``written`` counts every read inserted, ``superseded`` those of them
    that replaced an estimate; ``meter_ids`` and ``first_day``..``last_day`` span what was written."""

    outcome: str
    batch: ReadBatch | None = None
    rows_total: int = 0
    written: int = 0
    duplicate: int = 0
    superseded: int = 0
    problems: tuple[Problem, ...] = ()
    meter_ids: frozenset[int] = frozenset()
    first_day: date | None = None
    last_day: date | None = None

    @property
    def bad(self) -> int:
        return len({problem.line for problem in self.problems})

    @property
    def report(self) -> str:
        return "\n".join(describe(problem) for problem in self.problems)


def import_reads(engine: Engine, data: bytes, *, filename: str, imported_by: str, now: datetime,
                 skip_bad: bool = False, progress: Progress | None = None) -> ImportResult:
    """Import one AMI file (its bytes as read from disk)."""
    sha256 = hashlib.sha256(data).hexdigest()
    with read_session(engine) as db:
        earlier = _batch_with(db, sha256)
        if earlier is not None:
            return ImportResult(ALREADY_IMPORTED, earlier)
        meters = load_meters(db.connection())
    try:
        text = decode(data)
        parsed = parse(text, meters, beijing_date(now), progress and (lambda done, of: progress("check", done, of)))
    except FileRefused as refused:
        return ImportResult(REFUSED, problems=(refused.problem,))
    with writer(engine).begin() as connection:
        if connection.dialect.name == "postgresql":  # what BEGIN IMMEDIATE gives us on SQLite
            connection.exec_driver_sql("LOCK TABLE meter_read IN SHARE ROW EXCLUSIVE MODE")
        session = Session(bind=connection)
        earlier = _batch_with(session, sha256)  # the same file, imported meanwhile
        if earlier is not None:
            return ImportResult(ALREADY_IMPORTED, earlier)
        plan = _Plan(parsed, _held(connection, parsed), meters)
        if plan.problems and not skip_bad:
            return ImportResult(REFUSED, rows_total=parsed.rows_total, problems=plan.problems)
        result = _write(connection, session, plan, filename=filename, sha256=sha256, imported_by=imported_by,
                        now=now, progress=progress)
        session.expunge(result.batch)
        return result


def load_meters(connection: Connection) -> Meters:
    """Every meter by its number: an AMI file names smart meters; a manual one is named as such."""
    table = Meter.__table__
    smart, manual = {}, {}
    for number, meter_id, tou, kind in connection.execute(select(table.c.meter_no, table.c.id, table.c.tou,
                                                                 table.c.kind)):
        if kind == SMART:
            smart[number] = (meter_id, bool(tou))
        else:
            manual[number] = meter_id
    return Meters(smart, manual)


def _batch_with(session: Session, sha256: str) -> ReadBatch | None:
    return session.exec(select_models(ReadBatch).where(ReadBatch.sha256 == sha256)).first()


def _held(connection: Connection, parsed: ParsedFile) -> Iterator:
    """The valid reads already held for the file's meters, over its days."""
    meter_ids = sorted(set().union(*(day.rows for day in parsed.days.values())))
    if not meter_ids:
        return
    table = Read.__table__
    days = [day.on for day in parsed.days.values()]
    query = select(table.c.id, table.c.meter_id, table.c.read_on, table.c.source, *(table.c[name] for name in VALUES)).where(
        table.c.status == VALID, table.c.read_on.between(min(days), max(days)),
        table.c.meter_id.in_(bindparam("meter_ids", expanding=True)))
    for start in range(0, len(meter_ids), IN_CHUNK):
        yield from connection.execute(query, {"meter_ids": meter_ids[start:start + IN_CHUNK]})


class _Plan:
    """The file's good rows against what is held: new reads, estimates to supersede, duplicates,
    and rows that contradict a held read (bad lines, like the file's own)."""

    def __init__(self, parsed: ParsedFile, held: Iterable, meters: Meters) -> None:
        self.parsed = parsed
        self.duplicate = parsed.repeated
        self.supersede: list[tuple[tuple, object]] = []  # (file row, the estimate it replaces)
        problems, taken = list(parsed.problems), set()
        for read in held:
            day = parsed.days.get(read.read_on.isoformat())
            row = day.rows.get(read.meter_id) if day else None
            if row is None:
                continue
            taken.add(row[7])
            if row[2:7] == tuple(read[4:]):
                self.duplicate += 1
            elif read.source == ESTIMATED:
                self.supersede.append((row, read))
            else:
                problems.append(Problem(row[7], "held_differently", {
                    "meter_no": meters.numbers[read.meter_id], "day": day.iso, "held_kwh": kwh_text(read.total_wh),
                    "source": read.source}))
        self.new = [row for row in parsed.rows if row[7] not in taken] if taken else parsed.rows
        self.problems = tuple(sorted(problems, key=lambda problem: problem.line))


def _write(connection: Connection, session: Session, plan: _Plan, *, filename: str, sha256: str, imported_by: str,
           now: datetime, progress: Progress | None) -> ImportResult:
    parsed = plan.parsed
    batch = ReadBatch(filename=filename[-200:], sha256=sha256, imported_by=imported_by[:100], imported_at=now,
                      rows_total=parsed.rows_total, rows_duplicate=plan.duplicate,
                      rows_written=len(plan.new) + len(plan.supersede),
                      rows_bad=len({problem.line for problem in plan.problems}),
                      report="\n".join(describe(problem) for problem in plan.problems))
    session.add(batch)
    session.flush()
    tail = (AMI, timestamp_value(connection, now), batch.id)
    table, rows = Read.__table__, plan.new
    for start in range(0, len(rows), CHUNK):
        bulk_insert(connection, table, INSERTED, [row[:7] + tail for row in rows[start:start + CHUNK]])
        if progress:
            progress("write", min(start + CHUNK, len(rows)), batch.rows_written)
    if plan.supersede:
        _supersede(connection, plan, batch.id, now)
        if progress:
            progress("write", batch.rows_written, batch.rows_written)
    written = [*rows, *(row for row, _ in plan.supersede)]
    days = {row[1] for row in written}
    return ImportResult(IMPORTED, batch, rows_total=parsed.rows_total, written=batch.rows_written,
                        duplicate=plan.duplicate, superseded=len(plan.supersede), problems=plan.problems,
                        meter_ids=frozenset(row[0] for row in written),
                        first_day=date.fromisoformat(min(days)) if days else None,
                        last_day=date.fromisoformat(max(days)) if days else None)


def _supersede(connection: Connection, plan: _Plan, batch_id: int, now: datetime) -> None:
    """Estimates replaced by their actual reads, the difference carried: ``record_read``'s outcome
    for each, in four statements."""
    table, days = Read.__table__, plan.parsed.days
    connection.execute(update(table).where(table.c.id == bindparam("estimate_id")).values(status=SUPERSEDED),
                       [{"estimate_id": estimate.id} for _, estimate in plan.supersede])
    actual_ids = connection.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), [
        {"meter_id": row[0], "read_on": days[row[1]].on, "source": AMI, "received_at": now, "batch_id": batch_id,
         "supersedes_id": estimate.id, **dict(zip(VALUES, row[2:7]))}
        for row, estimate in plan.supersede]).scalars().all()
    serving = _serving(connection, {row[0] for row, _ in plan.supersede})
    carries = []
    for (row, estimate), actual_id in zip(plan.supersede, actual_ids):
        installation = serving(row[0], days[row[1]].on)
        if installation is not None:  # a district supply meter bills no one
            carries.append({"account_id": installation.account_id, "estimated_read_id": estimate.id,
                            "actual_read_id": actual_id, "created_at": now,
                            "difference_wh": (row[2] - estimate.total_wh) * installation.multiplier})
    if carries:
        connection.execute(insert(EstimateCarry.__table__), carries)


def _serving(connection: Connection, meter_ids: set[int]) -> Callable[[int, date], object | None]:
    """Which installation a meter served on a day: the same choice ``billing.reads`` makes for one
    read (the latest installed on or before the day and not removed before it)."""
    table = MeterInstallation.__table__
    by_meter: dict[int, list] = {}
    for installation in connection.execute(select(table).where(table.c.meter_id.in_(sorted(meter_ids)))
                                           .order_by(table.c.installed_on.desc(), table.c.id)):
        by_meter.setdefault(installation.meter_id, []).append(installation)

    def serving(meter_id: int, day: date):
        return next((installation for installation in by_meter.get(meter_id, ())
                     if installation.installed_on <= day and (installation.removed_on is None
                                                              or installation.removed_on >= day)), None)

    return serving
