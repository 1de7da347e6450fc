"""``dianfei reads check`` and ``dianfei reads loss``: the read validation rules and the district line
loss over a range of days, with the thresholds of the settings.  Cron runs both after each day's
import (the import runs the checks of what it brought in itself); running them again opens nothing
twice and replaces the loss figures.

    dianfei reads check --from D [--to D]   check the reads dated D..D (the 00:00 freezes of those days)
    dianfei reads loss --from D [--to D]    line loss of the days of use D..D (needs the reads of the day
                                            after each) and of the months that end among them
"""

from __future__ import annotations

from datetime import date

import click
from flask.cli import with_appcontext

from billing.db import unit_of_work
from billing.errors import BillingError
from billing.line_loss import compute_loss
from billing.read_rules import RULES, check_reads
from demo.county import DemoSummary
from demo.trouble import find_trouble
from portal.wiring import Services, services

DAY = click.DateTime(["%Y-%m-%d"])


def _days(first, last) -> tuple[date, date]:
    return first.date(), (last or first).date()


def _in_one_transaction(work):
    """``work(session, services)`` in one unit of work; a refusal (a day in the future) is one line."""
    svc = services()
    try:
        with unit_of_work(svc.engine) as db:
            return work(db, svc)
    except BillingError as error:
        raise click.ClickException(str(error)) from None


@click.command("check")
@click.option("--from", "first", type=DAY, required=True, help="First read day, YYYY-MM-DD (Beijing).")
@click.option("--to", "last", type=DAY, default=None, help="Last read day (default: the first).")
@with_appcontext
def check_command(first, last) -> None:
    """Check the reads of these days against every rule; each finding opens a review item."""
    first, last = _days(first, last)
    opened = _in_one_transaction(lambda db, svc: check_reads(db, rules=svc.settings.read_rules, first=first,
                                                             last=last, now=svc.clock()))
    for line in opened_lines(opened):
        click.echo(line)
    click.echo(f"reads of {first}..{last} checked: {sum(opened.values())} new review items")


@click.command("loss")
@click.option("--from", "first", type=DAY, required=True, help="First day of use, YYYY-MM-DD (Beijing).")
@click.option("--to", "last", type=DAY, default=None, help="Last day of use (default: the first).")
@with_appcontext
def loss_command(first, last) -> None:
    """Compute (or recompute) every district's line loss for these days and the months ending among them."""
    first, last = _days(first, last)
    counts = _in_one_transaction(lambda db, svc: compute_loss(db, first=first, last=last, now=svc.clock(),
                                                              high_percent=svc.settings.LOSS_HIGH_PERCENT))
    figures = counts.pop("figures")
    for line in opened_lines(counts):
        click.echo(line)
    click.echo(f"line loss of {first}..{last}: {figures} figures, {sum(counts.values())} new review items")


def opened_lines(opened: dict[str, int]) -> list[str]:
    """One line per rule that opened review items: its code, how many, what it means."""
    return [f"{rule}\t{count}\t{RULES[rule]}" for rule, count in sorted(opened.items())]


def check_demo(svc: Services, summary: DemoSummary) -> str:
    """After ``demo load``: the checks and the line loss, so the review queue has something to show."""
    found = find_trouble(svc.engine, rules=svc.settings.read_rules, first_read=summary.first_read, now=svc.clock())
    return trouble_line(found)


def trouble_line(found: dict[str, int]) -> str:
    listed = ", ".join(f"{rule} {count}" for rule, count in sorted(found.items())) or "none"
    return f"demo reads checked and line loss computed: {sum(found.values())} review items ({listed})"
