"""``dianfei notify dispatch``: read new events into messages and send every message that is due
(for cron, every minute; safe to run twice at once).  ``dianfei notify receipts``: pull the SMS
provider's delivery reports into the delivery log (for cron, every few minutes)."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext

from notifications.dispatch import dispatch
from notifications.intake import take_events
from notifications.receipts import collect_receipts
from portal.wiring import services


@click.group("notify")
def notify_group() -> None:
    """Reminders and notices to residents (SMS; the console outside production)."""


@notify_group.command("dispatch")
@with_appcontext
def dispatch_command() -> None:
    """Queue the messages of new events, then send what is due; one JSON line of counts."""
    svc = services()
    events_read = take_events(svc.engine, clock=svc.clock)
    done = dispatch(svc.engine, svc.messengers, clock=svc.clock)
    click.echo(json.dumps({"events_read": events_read, "channels": sorted(svc.messengers), "sent": done.sent,
                           "delivered": done.delivered, "retrying": done.retrying, "failed": done.failed,
                           "postponed": done.postponed, "errors": done.errors}, ensure_ascii=False))
    if not svc.messengers:
        sys.exit("notify: no message channel is configured; messages stay queued")


@notify_group.command("receipts")
@with_appcontext
def receipts_command() -> None:
    """Apply every waiting delivery report; one JSON line of counts (exit 1 when a pull failed)."""
    done = collect_receipts(services().engine, services().messengers)
    click.echo(json.dumps({"delivered": done.delivered, "undelivered": done.undelivered, "unknown": done.unknown,
                           "error": done.error}, ensure_ascii=False))
    if done.error:
        sys.exit(f"notify: pulling delivery reports failed ({done.error}); they wait at the provider")
