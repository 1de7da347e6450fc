"""``dianfei supply work|list|confirm``: 停电/复电 orders.  ``work`` is for cron, every minute (after
``dianfei dunning run`` has opened the orders): remote orders go to the metering head-end, late
restores are escalated.  ``list`` shows what waits for people (field orders, escalated orders);
``confirm`` records a field crew's report, in the name of a staff member (audited)."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext
from sqlmodel import select

from billing import supply_orders
from billing.clock import beijing_minute
from billing.db import read_session, unit_of_work
from billing.errors import BillingError
from billing.staff import StaffUser
from metering.head_end import HeadEnd, HttpHeadEnd
from metering.orders import work_orders
from portal.config import Settings
from portal.wiring import services


def head_end(settings: Settings) -> HeadEnd | None:
    """The head-end the settings name: the demo's simulator, a real one, or none (orders wait)."""
    if settings.HEAD_END_SANDBOX:
        from portal.sandbox import SANDBOX_HEAD_END_TOKEN, head_end_sandbox_url

        return HttpHeadEnd(head_end_sandbox_url(settings), SANDBOX_HEAD_END_TOKEN)
    return HttpHeadEnd(settings.HEAD_END_URL, settings.HEAD_END_TOKEN) if settings.HEAD_END_URL else None


@click.group("supply")
def supply_group() -> None:
    """Disconnection and reconnection orders: the head-end for smart meters, field crews for the rest."""


@supply_group.command("work")
@with_appcontext
def work_command() -> None:
    """Send due remote orders, ask about sent ones, escalate late restores; one JSON line of counts."""
    svc = services()
    target = head_end(svc.settings)
    done = work_orders(svc.engine, target, svc.clock)
    click.echo(json.dumps({"head_end": target is not None, **dict(sorted(done.items()))}))


@supply_group.command("list")
@with_appcontext
def list_command() -> None:
    """Open field orders and escalated orders, oldest first: one JSON line each."""
    svc = services()
    with read_session(svc.engine) as session:
        for order in supply_orders.waiting_on_staff(session):
            click.echo(json.dumps({
                "order": order.id, "account_id": order.account_id, "meter_no": order.meter_no, "kind": order.kind,
                "method": order.method, "state": order.state, "attempts": order.attempts, "error": order.error,
                "deadline": beijing_minute(order.deadline) if order.deadline else None,
                "escalated": beijing_minute(order.escalated_at) if order.escalated_at else None},
                ensure_ascii=False))


@supply_group.command("confirm")
@click.argument("order_id", type=int)
@click.option("--staff", "username", required=True, help="The staff member who takes the crew's report.")
@click.option("--note", default="", help="What the crew reported (kept in the audit log).")
@with_appcontext
def confirm_command(order_id: int, username: str, note: str) -> None:
    """A field crew switched the meter: confirm the order (the account's status and the resident follow)."""
    svc = services()
    with unit_of_work(svc.engine) as session:
        staff_id = session.exec(select(StaffUser.id).where(StaffUser.username == username)).first()
        if staff_id is None:
            raise click.BadParameter(f"no staff member {username!r}", param_hint="'--staff'")
        try:
            order = supply_orders.confirm_by_staff(session, order_id, staff_id=staff_id, now=svc.clock(), note=note)
        except BillingError as error:
            raise click.BadParameter(error.message, param_hint="ORDER_ID") from None
        click.echo(json.dumps({"order": order.id, "state": order.state}))
