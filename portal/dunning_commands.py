"""``dianfei dunning run [--date D]``: take every dunning step due now (cron, every 15 minutes, with
``dianfei notify dispatch`` after it); one JSON line of the steps taken."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from billing import dunning
from billing.clock import beijing_date
from billing.errors import InvalidInput
from portal.wiring import services


@click.group("dunning")
def dunning_group() -> None:
    """催费: reminders, disconnection notices and orders, reconnection."""


@dunning_group.command("run")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Business day, YYYY-MM-DD (Beijing); today when omitted. A future day is refused.")
@with_appcontext
def run_command(day) -> None:
    """Take the steps of the ladder that are due now."""
    svc = services()
    now = svc.clock()
    try:
        taken = dunning.run(svc.engine, on=day.date() if day else beijing_date(now), now=now)
    except InvalidInput as error:
        raise click.BadParameter(error.message, param_hint="'--date'") from None
    click.echo(json.dumps({"steps": dict(sorted(taken.items())), "total": sum(taken.values())}))
