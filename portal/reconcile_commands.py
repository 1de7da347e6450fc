"""``dianfei reconcile wechat|alipay|counter --date D [--file F]`` and ``dianfei reconcile all --date D``
(for cron): one line per channel with its matched lines, each difference class and what was healed.
``dianfei reconcile status --date D``: each channel's day, closed once its differences are worked off."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from flask.cli import with_appcontext

from billing.db import read_session
from payments import reconciliation
from payments.errors import GatewayError, PaymentError
from payments.orders import COUNTER
from payments.reconciliation import Reconciled, StatementNotYet
from payments.reconciliation_days import ChannelDay, channel_days
from payments.reconciliation_records import CLASSES
from portal.wiring import Services, services

CHANNELS = ("wechat", "alipay", COUNTER)


@click.command("reconcile")
@click.argument("channel", type=click.Choice([*CHANNELS, "all", "status"]))
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Statement day, YYYY-MM-DD (Beijing).")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The statement file, instead of downloading it (wechat or alipay only).")
@with_appcontext
def reconcile_command(channel: str, day, path: Path | None) -> None:
    """Match a channel's daily statement against the orders and the ledger (对账), or say how far
    each channel's day is worked off (``status``)."""
    if path is not None and channel not in ("wechat", "alipay"):
        raise click.BadParameter("a file is a wechat or alipay statement", param_hint="'--file'")
    svc = services()
    if channel == "status":
        with read_session(svc.engine) as session:
            for state in channel_days(session, day.date(), CHANNELS):
                click.echo(status_line(state))
        return
    failed = [c for c in (configured(svc) if channel == "all" else [channel]) if not _one(svc, c, day.date(), path)]
    if failed:
        sys.exit(f"reconcile: {', '.join(failed)} not reconciled")


def configured(svc: Services) -> list[str]:
    """The channels ``reconcile all`` does: the counter and every configured gateway."""
    return [c for c in CHANNELS if c == COUNTER or c in svc.gateways]


def reconcile_channel(svc: Services, channel: str, day: date, path: Path | None = None) -> Reconciled:
    """One channel's day at ``svc.clock()``: what cron's run does (and the demo's reconciled week)."""
    if channel == COUNTER:
        return reconciliation.reconcile_counter(svc.engine, day, now=svc.clock())
    gateway = svc.gateways.get(channel)
    if gateway is None:
        raise click.BadParameter(f"{channel} is not configured", param_hint="CHANNEL")
    return reconciliation.reconcile(svc.engine, gateway, channel, day, merchant=gateway.merchant, now=svc.clock(),
                                    data=path.read_bytes() if path else None)


def _one(svc: Services, channel: str, day: date, path: Path | None) -> bool:
    """Reconcile one channel and print its line; False if it could not be done (not yet counts as done)."""
    try:
        result = reconcile_channel(svc, channel, day, path)
    except StatementNotYet as error:
        click.echo(f"{channel} {day}: not yet: {error}")
        return True
    except (PaymentError, GatewayError) as error:
        click.echo(f"{channel} {day}: refused: {' '.join(str(error).split())}", err=True)
        return False
    click.echo(summary_line(result))
    return True


def status_line(state: ChannelDay) -> str:
    return f"{state.channel} {state.day}: {state.state}, {state.differences} differences, {state.open} open"


def summary_line(result: Reconciled) -> str:
    counts = ", ".join(f"{kind} {result.found[kind]}" for kind in CLASSES)
    rerun = " (rerun)" if result.rerun else ""
    return (f"{result.channel} {result.day}{rerun}: {result.lines} lines, matched {result.matched}, {counts}, "
            f"healed {result.healed}, waiting {result.waiting}")
