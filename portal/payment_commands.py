"""``dianfei payments ...``: sync with the channels, list incidents and refunds, fetch statements, book fees."""

from __future__ import annotations

import sys
from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlmodel import select

from billing.db import read_session, unit_of_work
from billing.incidents import open_incidents
from billing.money import format_yuan, format_yuan_millifen
from payments import fees, sync
from payments.errors import PaymentError
from payments.gateways.base import StatementLine
from payments.refunds import Refund
from portal.wiring import services


@click.group("payments")
def payments_group() -> None:
    """Payment channels: sync, incidents, refunds, statements."""


@payments_group.command("sync")
@click.option("--older-than", type=int, default=None, help="Minutes an order must be open (default DIANFEI_SYNC_AFTER_MINUTES).")
@with_appcontext
def sync_command(older_than: int | None) -> None:
    """Query orders that have not heard back, close expired ones, confirm refunds."""
    svc = services()
    minutes = current_app.config["SYNC_AFTER_MINUTES"] if older_than is None else older_than
    summary = sync.sync(svc.engine, svc.gateways, now=svc.clock(), older_than=timedelta(minutes=minutes))
    outcomes = ", ".join(f"{outcome} {count}" for outcome, count in sorted(summary.outcomes.items())) or "none"
    click.echo(f"checked {summary.checked} open orders ({outcomes}); closed {summary.closed}; "
               f"refunds checked {summary.refunds_checked}")
    for error in summary.errors:
        click.echo(f"error: {error}", err=True)
    if summary.errors:
        sys.exit(f"payments sync: {len(summary.errors)} failed; the rest were synced")


@payments_group.command("incidents")
@with_appcontext
def incidents_command() -> None:
    """Open incidents for staff."""
    with read_session(services().engine) as db:
        rows = open_incidents(db)
    for incident in rows:
        click.echo(f"#{incident.id}\t{incident.created_at:%Y-%m-%d %H:%M}\t{incident.kind}\t{incident.ref}\t{incident.detail}")
    click.echo(f"{len(rows)} open incidents")


@payments_group.command("refunds")
@click.option("--state", default=None, help="proposed, approved, submitted, succeeded, failed or rejected")
@with_appcontext
def refunds_command(state: str | None) -> None:
    """Refunds, newest first."""
    query = select(Refund).order_by(Refund.id.desc())
    with read_session(services().engine) as db:
        rows = db.exec(query.where(Refund.state == state) if state else query).all()
    for refund in rows:
        click.echo(f"{refund.refund_no}\t{refund.channel}\t{format_yuan(refund.amount_fen)}\t{refund.reason}\t{refund.state}")
    click.echo(f"{len(rows)} refunds")


_CHANNEL = click.option("--channel", type=click.Choice(["wechat", "alipay"]), required=True)
_DAY = click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), required=True,
                    help="Statement day, YYYY-MM-DD (Beijing).")


def _statement(channel: str, day: date) -> list[StatementLine]:
    """The channel's checked statement of ``day``, or one line saying why not, exit 1."""
    svc = services()
    if channel not in svc.gateways:
        raise click.ClickException(f"{channel} is not configured")
    try:
        return svc.gateways[channel].statement(day)
    except PaymentError as error:  # unreachable, refused, corrupted or unreadable: one line, exit 1
        raise click.ClickException(f"{channel} statement for {day:%Y-%m-%d}: {' '.join(str(error).split())}") from None


@payments_group.command("statement")
@_CHANNEL
@_DAY
@with_appcontext
def statement_command(channel: str, day) -> None:
    """Download a channel's daily statement, check it, print its lines."""
    lines = _statement(channel, day.date())
    for line in lines:
        click.echo(f"{line.kind}\t{line.channel_txn_id}\t{line.out_trade_no}\t{format_yuan(line.amount_fen)}\t"
                   f"fee {format_yuan_millifen(line.fee_millifen)}\t{line.refund_no}")
    paid = sum(line.amount_fen for line in lines if line.kind == "payment")
    refunded = sum(line.amount_fen for line in lines if line.kind == "refund")
    click.echo(f"{len(lines)} lines: paid {format_yuan(paid)}, refunded {format_yuan(refunded)}, "
               f"fees {format_yuan_millifen(fees.statement_fees_millifen(lines))}")


@payments_group.command("book-fees")
@_CHANNEL
@_DAY
@with_appcontext
def book_fees_command(channel: str, day) -> None:
    """Book a day's channel fees from its downloaded statement: once, rounded to the fen once."""
    lines = _statement(channel, day.date())
    if not lines:
        raise click.ClickException(f"{channel} has no statement lines for {day:%Y-%m-%d}: nothing to book")
    svc = services()
    try:
        with unit_of_work(svc.engine) as db:
            booked = fees.book_statement_fees(db, channel, day.date(), lines, now=svc.clock())
    except PaymentError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{channel} {day:%Y-%m-%d}: fees {format_yuan_millifen(booked.fee_millifen)} booked as "
               f"{format_yuan(booked.booked_fen)}, rounding {booked.rounding_millifen:+d} millifen")
