"""The ``dianfei`` command: the Flask CLI bound to the app of ``wsgi.py``.

    dianfei db upgrade                      create or migrate the database
    dianfei demo load [--accounts N] [--seed S] [--reset] [--if-empty] [--no-bills]   (bills: and a reconciled week, then 3 weeks of 催费)
    dianfei reads import FILE / estimate    AMI files in (checked as they come), missing reads estimated
    dianfei reads check|loss --from D [--to D]
    dianfei bills late-fee --category C --arrears YUAN --due D [--paid D]   违约金, as JSON
    dianfei tariff quote TARIFF_ID --period YYYY-MM --kwh N [...]   a tariff's lines and total, as JSON
    dianfei notify dispatch                 events into messages; send what is due (cron, every minute)
    dianfei dunning run [--date D]          催费 ladder steps due now (cron, every 15 minutes)
    dianfei supply work / list / confirm    停电/复电 orders to the head-end, field orders (cron, every minute)
    dianfei run [--host H] [--port P]       serve the portal

A wrong setting or an unreachable database ends the command with one line per problem, each naming
the variable.  With ``DIANFEI_BROKER_URL`` set, the scheduled jobs run on Celery workers (``portal.jobs``).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext
from werkzeug.serving import run_simple

import migrations
from demo.ami_file import write_ami_file
from demo.county import DEMO_PASSWORD, database_is_empty, load_demo_county
from demo.logins import (
    FIRST_LOGIN, SECOND_LOGIN, UNBOUND_LOGIN, BindingExample, binding_example, logins_line, unbound_login_is_free,
)
from payments import sync
from billing.db import read_session
from billing.errors import DatabaseUnavailable, DatabaseUrlInvalid
from billing.failure_log import cause, quiet_repeats
from payments.errors import GatewayConfigError
from portal.config import Settings
from portal import create_app, jobs
from portal.errors import ConfigError
from portal.bill_commands import bills_group
from portal.dunning_commands import dunning_group
from portal.supply_commands import supply_group
from portal.notify_commands import notify_group
from portal.payment_commands import payments_group
from portal.reconcile_commands import reconcile_command
from portal.read_commands import reads_group
from portal.demo_dunning import dunning_line, walk_demo_dunning
from portal.demo_payments import bills_line, load_demo_bills
from portal.demo_reconciliation import reconcile_demo_week, week_line
from portal.reads_check import check_demo, trouble_line
from portal.tariff_commands import tariff_group
from portal.wiring import services

ONE_LINE_ERRORS = (ConfigError, DatabaseUrlInvalid, DatabaseUnavailable, GatewayConfigError)
log = quiet_repeats(logging.getLogger(__name__))


cli = FlaskGroup(
    name="dianfei",
    create_app=create_app,  # the same factory as wsgi.py; a bad setting ends in main() below
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
    help="dianfei: meter reads, bills, payments and reconciliation for a county power-supply company.",
)
cli.add_command(routes_command)
cli.add_command(shell_command)
cli.add_command(payments_group)
cli.add_command(reconcile_command)
cli.add_command(reads_group)
cli.add_command(bills_group)
cli.add_command(tariff_group)
cli.add_command(notify_group)
cli.add_command(dunning_group)
cli.add_command(supply_group)


@cli.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Create the database or migrate it to the newest schema."""
    engine = services().engine
    migrations.upgrade(engine)
    click.echo(f"database at revision {migrations.current(engine)}: {engine.url.render_as_string(hide_password=True)}")


@cli.group("demo")
def demo_group() -> None:
    """The demo county."""


@demo_group.command("load")
@click.option("--accounts", default=400, show_default=True, type=click.IntRange(10, 1_000_000), help="How many 户号.")
@click.option("--seed", default=2026, show_default=True, help="Same seed, same county.")
@click.option("--reset", is_flag=True, help="Drop everything in the database first.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) if the database has data.")
@click.option("--bills/--no-bills", default=True, show_default=True,
              help="Bill every finished month (bill runs, reviews, counter payments; ~90 post-paid 户号 a second) "
                   "reconcile the last week's WeChat Pay, Alipay and counter days, and walk three weeks of 催费.")
@with_appcontext
def demo_load(accounts: int, seed: int, reset: bool, if_empty: bool, bills: bool) -> None:
    """Load the demo county into an empty database."""
    svc = services()
    if svc.settings.production:
        raise click.ClickException("demo load is refused when DIANFEI_ENV=production: "
                                   "the demo county would replace or mix with real data")
    if reset:
        migrations.downgrade(svc.engine)
        migrations.upgrade(svc.engine)
    elif not database_is_empty(svc.engine):
        if if_empty:
            click.echo("demo: database already has data, keeping it")
            return
        raise click.ClickException("the database already has data; use --reset to replace it with the demo county")
    summary = load_demo_county(svc.engine, accounts=accounts, seed=seed, now=svc.clock())
    click.echo(
        f"demo county loaded: {summary.accounts} 户号 {summary.by_category}, {summary.by_regime}, "
        f"{summary.manager_accounts} managed by the property manager, "
        f"{summary.reads} reads {summary.first_read}..{summary.last_read}"
    )
    if bills:
        click.echo(f"billing {summary.first_read:%Y-%m} to last month: bill runs, reviews and counter payments ...")
        started = time.monotonic()
        billed = load_demo_bills(svc.engine, seed=seed, now=svc.clock(), first_read=summary.first_read,
                                 rules=svc.settings.read_rules)
        click.echo(trouble_line(billed.found))
        click.echo(f"{bills_line(billed)} (in {time.monotonic() - started:.0f} s)")
        click.echo(_reconciled_week(svc, seed))
        click.echo(_dunning_walk(svc))
    else:
        click.echo(check_demo(svc, summary))
    ami = write_ami_file(svc.engine, Path(svc.settings.INSTANCE_PATH) / "ami", now=svc.clock())
    click.echo(f"today's AMI file from the head-end: {ami} (dianfei reads import {ami})")
    click.echo(logins_line(_binding_example(svc)))


def _binding_example(svc) -> BindingExample | None:
    """The demo's 户号 to bind, outside production (where there is no demo to point at)."""
    if svc.settings.production:
        return None
    with read_session(svc.engine) as db:
        return binding_example(db) if unbound_login_is_free(db) else None


def _reconciled_week(svc, seed: int) -> str:
    """The last week's WeChat Pay, Alipay and counter days reconciled, with a few differences of each class."""
    if not svc.settings.PAYMENTS_SANDBOX:
        return "demo 对账: no reconciled week (the payments are not in sandbox mode)"
    started = time.monotonic()
    week = reconcile_demo_week(svc.settings, svc.engine, seed=seed, now=svc.clock())
    return f"{week_line(week)} (in {time.monotonic() - started:.0f} s)"


def _dunning_walk(svc) -> str:
    """The last three weeks of the 催费 ladder: reminders delivered, a cut and restore, a hold, a plan."""
    if not svc.settings.PAYMENTS_SANDBOX:
        return "demo 催费: no dunning walk (the payments are not in sandbox mode)"
    started = time.monotonic()
    walk = walk_demo_dunning(svc.settings, svc.engine, now=svc.clock())
    return f"{dunning_line(walk)} (in {time.monotonic() - started:.0f} s)"


@cli.command("run")
@click.option("--host", default=None, help="Default: DIANFEI_HOST or 127.0.0.1.")
@click.option("--port", default=None, type=int, help="Default: DIANFEI_PORT or 5000.")
@with_appcontext
def run(host: str | None, port: int | None) -> None:
    """Serve the portal (with the sandbox cashiers and a payments sync every minute in the demo)."""
    app = current_app._get_current_object()
    svc = services()
    host, port = host or svc.settings.HOST, port or svc.settings.PORT
    if svc.settings.PAYMENTS_SANDBOX:
        from portal.sandbox import start_sandboxes

        start_sandboxes(svc.settings, svc.clock)
    if svc.settings.SMS_SANDBOX:
        from portal.sandbox import start_sms_sandbox

        start_sms_sandbox(svc.settings)
    if svc.settings.HEAD_END_SANDBOX:
        from portal.sandbox import start_head_end_sandbox

        start_head_end_sandbox(svc.settings)
    if svc.settings.WECHAT_SANDBOX:
        from portal.sandbox import start_wechat_sandbox

        start_wechat_sandbox(svc.settings)
    threading.Thread(target=_sync_every_minute, args=(app,), daemon=True, name="payments-sync").start()
    click.echo(_banner(f"http://{host}:{port}", svc.settings, _binding_example(svc)))
    run_simple(host, port, app, threaded=True)


def _sync_every_minute(app) -> None:
    """What cron runs as ``dianfei payments sync`` in production, inline for the demo."""
    svc = app.extensions["dianfei"]
    while True:
        time.sleep(60)
        try:
            sync.sync(svc.engine, svc.gateways, now=svc.clock(), older_than=timedelta(minutes=app.config["SYNC_AFTER_MINUTES"]))
        except Exception as error:  # a failed round is retried next minute; the server keeps serving
            log.warning("payments sync failed: %s", cause(error), exc_info=error)


def _banner(base: str, settings: Settings, example: BindingExample | None = None) -> str:
    lines = [
        f"dianfei is serving on {base}/",
        f"  resident portal   {base}/          log in with {FIRST_LOGIN} or {SECOND_LOGIN}",
        "                                    (the SMS code is shown on screen in the demo)",
        f"  property manager  {base}/manager/  log in with 13900000000, then 物业代缴",
        f"  staff             {base}/staff/    admin, cashier1, finance1, reviewer1, reader1 / {DEMO_PASSWORD}",
    ]
    if example is not None:  # under the resident logins
        lines.insert(3, f"                                    {UNBOUND_LOGIN} has nothing bound: bind 户号 "
                        f"{example.account_no} with ID tail {example.id_tail} (or meter {example.meter_no})")
    if settings.PAYMENTS_SANDBOX:
        lines.append(f"  sandbox cashiers  WeChat Pay http://127.0.0.1:{settings.SANDBOX_WECHATPAY_PORT}, "
                     f"Alipay http://127.0.0.1:{settings.SANDBOX_ALIPAY_PORT}")
    if settings.SMS_SANDBOX:
        lines.append(f"  sandbox SMS       Tencent Cloud SMS http://127.0.0.1:{settings.SANDBOX_SMS_PORT} "
                     "(dianfei notify dispatch / receipts send and pull there)")
    if settings.HEAD_END_SANDBOX:
        lines.append(f"  sandbox head-end  http://127.0.0.1:{settings.SANDBOX_HEAD_END_PORT} "
                     "(remote cuts and restores: dianfei supply work)")
    if settings.WECHAT_SANDBOX:
        lines.append(f"  sandbox WeChat    http://127.0.0.1:{settings.SANDBOX_WECHAT_PORT} "
                     "(微信一键登录 in a browser whose user agent says MicroMessenger; messages)")
    return "\n".join(lines)


def main() -> None:
    broker, args = os.environ.get(jobs.BROKER_VARIABLE), sys.argv[1:]
    if broker and jobs.is_job(args):  # scaled out: a worker runs the very same command
        sys.exit(jobs.run_on_worker(args, broker))
    try:
        cli.main(prog_name="dianfei")
    except ONE_LINE_ERRORS as error:
        sys.exit("\n".join(f"dianfei: {line}" for line in str(error).splitlines()))
