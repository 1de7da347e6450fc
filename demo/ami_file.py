"""The head-end's file of today's 00:00 freezes, for ``dianfei reads import`` to load in the demo.

Every smart meter in service (and each district's supply meter) that has yesterday's read and none
of today gets a row: yesterday's registers plus its average day over the week before, in kWh with
two decimals (registers in whole 10 Wh, the resolution a head-end exports), the 尖峰平谷 registers
adding up to the total.  Written as the head-ends in the county do: GBK with CRLF line ends.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from billing.clock import beijing_date
from billing.db import read_session
from billing.missing_reads import meters_in_service
from billing.read_file import COLUMNS
from billing.reads import REGISTERS, VALID, Read

WEEK = 7


def write_ami_file(engine: Engine, folder: Path, *, now: datetime) -> Path:
    """Write ``ami-YYYYMMDD.csv`` for today (Beijing) into ``folder``; returns its path."""
    today = beijing_date(now)
    lines = [",".join(COLUMNS)]
    with read_session(engine) as db:
        in_service = meters_in_service(today, any_status=True)
        numbers = dict(db.exec(select(in_service.c.id, in_service.c.meter_no)).all())
        reads = _reads_by_day(db, today)
    yesterday, week_ago = reads.get(today - timedelta(days=1), {}), reads.get(today - timedelta(days=1 + WEEK), {})
    for meter_id, number in sorted(numbers.items(), key=lambda item: item[1]):
        last = yesterday.get(meter_id)
        if last is None or meter_id in reads.get(today, {}):
            continue
        lines.append(",".join([number, f"{today} 00:00", *_registers(last, week_ago.get(meter_id))]))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"ami-{today:%Y%m%d}.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    return path


def _reads_by_day(db, today) -> dict:
    """{day: {meter_id: (total, sharp, peak, flat, valley)}} for today, yesterday and a week before."""
    wanted = (today, today - timedelta(days=1), today - timedelta(days=1 + WEEK))
    query = select(Read.read_on, Read.meter_id, Read.total_wh, *(getattr(Read, f"{name}_wh") for name in REGISTERS)
                   ).where(Read.status == VALID, Read.read_on.in_(wanted))
    by_day: dict = {}
    for day, meter_id, *values in db.exec(query):
        by_day.setdefault(day, {})[meter_id] = values
    return by_day


def _registers(last: list, week_ago: list | None) -> list[str]:
    """Today's cells: yesterday's registers up to whole 10 Wh, plus an average day of each."""
    names = [n for n, value in enumerate(last[1:], start=1) if value is not None] or [0]
    today = [None] * 5
    for n in names:
        step = max(0, (last[n] - week_ago[n]) // WEEK) if week_ago and week_ago[n] is not None else 0
        today[n] = -(-last[n] // 10) * 10 + step // 10 * 10
    if names != [0]:
        today[0] = sum(today[n] for n in names)
    return ["" if wh is None else f"{wh // 1000}.{wh % 1000 // 10:02d}" for wh in today]
