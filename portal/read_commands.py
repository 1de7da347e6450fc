"""``dianfei reads ...``: import a head-end's AMI file, estimate a day's missing reads.

    dianfei reads import FILE [--skip-bad] [--by NAME]
    dianfei reads estimate --date YYYY-MM-DD

An import with bad lines ends with exit status 1, the first lines of the report on stderr and the
whole report in ``FILE.report.txt`` beside the file; refused, it wrote nothing.  What an import wrote
is checked against the read rules at once (``dianfei reads check`` in ``reads_check``, run by cron
after the import, catches up if this step was cut short).
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from billing.clock import beijing_date, to_beijing
from billing.db import unit_of_work
from billing.missing_reads import estimate_missing_reads
from billing.read_import import ALREADY_IMPORTED, REFUSED, ImportResult, import_reads
from billing.read_rules import check_reads
from portal.reads_check import check_command, loss_command, opened_lines
from portal.wiring import Services, services

SHOWN_PROBLEMS = 20  # report lines printed; the rest are in the report file
STAGES = {"check": "checking", "write": "writing ", "bill": "billing "}


@click.group("reads")
def reads_group() -> None:
    """Meter reads: import AMI files, estimate missing reads, check them, the district line loss."""


@reads_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-bad", is_flag=True, help="Write the good rows and report the bad ones (default: refuse the file).")
@click.option("--by", "by", default=None, help="Who runs the import, recorded on the batch (default: the OS user).")
@with_appcontext
def import_command(file: Path, skip_bad: bool, by: str | None) -> None:
    """Import a smart-meter daily freeze file (CSV, UTF-8 or GBK) as one batch."""
    svc = services()
    progress = ProgressBars(enabled=sys.stdout.isatty())
    try:
        result = import_reads(svc.engine, file.read_bytes(), filename=file.name, imported_by=by or _os_user(),
                              now=svc.clock(), skip_bad=skip_bad, progress=progress)
    finally:
        progress.close()
    if result.outcome == ALREADY_IMPORTED:
        batch = result.batch
        click.echo(f"{file.name} was imported already as batch #{batch.id} "
                   f"({to_beijing(batch.imported_at):%Y-%m-%d %H:%M} by {batch.imported_by}): nothing added")
        return
    click.echo(_summary(file, result))
    if result.written:
        _check(svc, result)
    if result.problems:
        _report(file, result)
        sys.exit(1)


def _check(svc: Services, result: ImportResult) -> None:
    """The read rules over the meters and days this import wrote."""
    with unit_of_work(svc.engine) as db:
        opened = check_reads(db, rules=svc.settings.read_rules, first=result.first_day, last=result.last_day,
                             now=svc.clock(), meter_ids=result.meter_ids)
    for line in opened_lines(opened):
        click.echo(line)
    click.echo(f"checked: {sum(opened.values())} new review items")


def _summary(file: Path, result: ImportResult) -> str:
    if result.outcome == REFUSED:
        return (f"{file.name} refused: {result.bad} bad of {result.rows_total} rows, nothing written "
                "(fix the file, or import the good rows with --skip-bad)")
    span = f"{result.first_day}..{result.last_day}" if result.first_day else "none"
    return (f"batch #{result.batch.id} {file.name}: {result.rows_total} rows, {result.written} written "
            f"({result.superseded} replacing estimates), {result.duplicate} already held, {result.bad} bad skipped; "
            f"{len(result.meter_ids)} meters, days {span}")


def _report(file: Path, result: ImportResult) -> None:
    lines = result.report.splitlines()
    for line in lines[:SHOWN_PROBLEMS]:
        click.echo(line, err=True)
    report = file.with_name(f"{file.name}.report.txt")
    try:
        report.write_text(result.report + "\n", encoding="utf-8")
    except OSError as error:
        for line in lines[SHOWN_PROBLEMS:]:
            click.echo(line, err=True)
        click.echo(f"(could not write {report}: {error.strerror}; the whole report is above)", err=True)
        return
    more = f"{len(lines) - SHOWN_PROBLEMS} more lines, " if len(lines) > SHOWN_PROBLEMS else ""
    click.echo(f"({more}the whole report is in {report})", err=True)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in a bare container
        return "unknown"


class ProgressBars:
    """One click progress bar per stage of the import, on a terminal only."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled, self.stage, self.done, self.bar = enabled, None, 0, None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage != self.stage:
            self.close()
            self.stage, self.done = stage, 0
            self.bar = click.progressbar(length=total, label=STAGES.get(stage, stage))
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@reads_group.command("estimate")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), required=True, help="The read day (Beijing).")
@with_appcontext
def estimate_command(day) -> None:
    """Estimate the missing read of that day for every smart meter in service that has none."""
    svc = services()
    now = svc.clock()
    if day.date() > beijing_date(now):
        raise click.ClickException(f"--date {day:%Y-%m-%d} is in the future: its freeze has not happened yet")
    with unit_of_work(svc.engine) as db:
        run = estimate_missing_reads(db, day.date(), now=now)
    click.echo(f"{run.day}: {len(run.estimated)} reads estimated, {run.already_read} meters already had a read, "
               f"{len(run.cannot)} cannot be estimated")
    for number, why in run.cannot:
        click.echo(f"  {number}: {why}")


reads_group.add_command(check_command)
reads_group.add_command(loss_command)
