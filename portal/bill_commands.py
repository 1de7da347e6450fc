"""``dianfei bills ...``: bills and what they cost when paid late.

    dianfei bills run --period YYYY-MM [--district D]
    dianfei bills settle-daily --date YYYY-MM-DD [--through YYYY-MM-DD]
    dianfei bills late-fee --category C --arrears YUAN --due YYYY-MM-DD [--paid YYYY-MM-DD]
    dianfei bills post-late-fees [--date YYYY-MM-DD]
    dianfei bills finance-check [--month YYYY-MM]

``run`` bills a finished month for every post-paid account (``billing.bill_run``), with a progress
bar on a terminal, and says how many bills it issued, how many it held for review and why, and
which accounts it could not bill yet.  Rerun it at will: nothing is billed twice.

``settle-daily`` charges each prepaid (智能交费) account its day's use (``billing.daily_settlement``),
day by day from --date to --through, and says per day what it charged, which balance events it
wrote and which accounts it could not charge yet (a missing read: rerun that day once it is in).

``late-fee`` answers the counter's "how much if I pay today": the 违约金 computation as JSON
(``billing.late_fees``).  It is arithmetic only, so it needs no database and works with it down.
Bad input ends with one line naming the option and exit status 1.

``post-late-fees`` posts the 违约金 accrued up to a day and not posted yet, as fee bills
(``billing.late_fee_posting``); the bill run will call the same per chunk.

``finance-check`` prints each figure of the month's marketing-finance statement that the bills and
the ledger both hold, from each (``billing.finance_statement``), and exits 1 when any differs: for
cron after the month's close.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import date

import click
from flask.cli import with_appcontext

from billing import finance_statement
from billing.accounts import CATEGORIES
from billing.assessment import month_start
from billing.bill_drafts import HoldRules
from billing.bill_run import CHUNK, RunResult, run_bills
from billing.clock import beijing_date, system_clock
from billing.daily_settlement import DayResult, settle_days
from billing.db import read_session
from billing.errors import BillingError, InvalidInput
from billing.late_fee_posting import post_all
from billing.late_fees import LateFee, late_fee
from billing.money import format_yuan, format_yuan_millifen, parse_yuan
from portal.read_commands import ProgressBars
from portal.wiring import services

OPTIONS = {"date": "--date", "through": "--through", "category": "--category", "arrears": "--arrears", "arrears_fen": "--arrears", "due": "--due", "paid": "--paid"}
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # fromisoformat alone would also take 20260105 and 2026-W01-1
MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


@click.group("bills")
def bills_group() -> None:
    """Bills: the monthly bill run; the late fee (违约金) on arrears."""


@bills_group.command("run")
@click.option("--period", required=True, help="The month to bill, YYYY-MM (over: billed from the 1st of the next month).")
@click.option("--district", default=None, help="Only this district (台区) code.")
@click.option("--chunk", default=CHUNK, type=click.IntRange(1, 100_000), hidden=True, help="Accounts per transaction.")
@with_appcontext
def run_command(period: str, district: str | None, chunk: int) -> None:
    """Bill a month: issue each post-paid account's bill, or hold it for review."""
    svc = services()
    match = MONTH.fullmatch(period.strip())
    if match is None:
        raise click.ClickException(f"--period: {period[:40]!r} is not a month such as 2026-10")
    rules = HoldRules(high_multiple=svc.settings.BILL_HIGH_MULTIPLE, due_days=svc.settings.BILL_DUE_DAYS)
    bar = ProgressBars(enabled=sys.stdout.isatty())
    try:
        result = run_bills(svc.engine, (int(match[1]), int(match[2])), district=district, now=svc.clock(),
                           progress=lambda done, total: bar("bill", done, total), rules=rules, chunk=chunk)
    except BillingError as error:
        raise click.ClickException(f"--{error.field or 'period'}: {error.message}") from None
    finally:
        bar.close()
    for line in run_report(result):
        click.echo(line)


@bills_group.command("settle-daily")
@click.option("--date", "day", help="The day to settle, YYYY-MM-DD (Beijing; over: settled from the next day on).")
@click.option("--through", help="Settle every day from --date to this one, in order.")
@click.option("--chunk", default=CHUNK, type=click.IntRange(1, 100_000), hidden=True, help="Accounts per transaction.")
@with_appcontext
def settle_daily_command(day: str | None, through: str | None, chunk: int) -> None:
    """Charge each prepaid (智能交费) account its day's use; write its low and negative balance events."""
    svc = services()
    bar = ProgressBars(enabled=sys.stdout.isatty())
    try:
        first = _day("date", day)
        last = _day("through", through) if through is not None else first
        results = settle_days(svc.engine, first, last, now=svc.clock(), chunk=chunk,
                              progress=lambda on, done, total: bar(f"settle {on}", done, total))
    except BillingError as error:
        raise click.ClickException(f"{OPTIONS.get(error.field, '--date')}: {error.message}") from None
    finally:
        bar.close()
    for result in results:
        for line in settle_report(result):
            click.echo(line)


@bills_group.command("late-fee")
@click.option("--category", help=f"The account's category: {', '.join(CATEGORIES)}.")
@click.option("--arrears", help="The amount overdue in 元, such as 1234.56.")
@click.option("--due", help="The due date, YYYY-MM-DD (Beijing).")
@click.option("--paid", help="The day of payment, YYYY-MM-DD (Beijing); default today.")
def late_fee_command(category: str | None, arrears: str | None, due: str | None, paid: str | None) -> None:
    """The 违约金 on arrears overdue since --due when paid on --paid, with its days, rates and parts, as JSON."""
    try:
        fee = late_fee(_required("category", category), parse_yuan(_required("arrears", arrears), "arrears"),
                       _day("due", due), _day("paid", paid) if paid is not None else beijing_date(system_clock()))
    except InvalidInput as error:
        raise click.ClickException(f"{OPTIONS[error.field]}: {error.message}") from None
    click.echo(json.dumps(as_json(fee), ensure_ascii=False, indent=2))


@bills_group.command("post-late-fees")
@click.option("--date", "day", default=None, help="Accrue up to this day, YYYY-MM-DD (Beijing); default today.")
@with_appcontext
def post_late_fees_command(day: str | None) -> None:
    """Post the late fees (违约金) accrued and not posted yet, as fee bills; rerun at will."""
    svc = services()
    try:
        on = _day("date", day) if day is not None else beijing_date(svc.clock())
        posted = post_all(svc.engine, on=on, now=svc.clock())
    except BillingError as error:
        raise click.ClickException(f"--{error.field or 'date'}: {error.message}") from None
    click.echo(f"{on}: {posted.accounts} accounts with overdue bills; {posted.fee_bills} fee bills posted, "
               f"{format_yuan(posted.fen)} 元")


@bills_group.command("finance-check")
@click.option("--month", default=None, help="The month, YYYY-MM (Beijing); default last month.")
@with_appcontext
def finance_check_command(month: str | None) -> None:
    """Check the month's statement figures between the bills and the ledger; exit 1 if any differs."""
    svc = services()
    try:
        current = beijing_date(svc.clock()).replace(day=1)
        first = month_start(month.strip()) if month is not None else finance_statement.months_before(current, 1)
        with read_session(svc.engine) as db:
            found = finance_statement.statement(db, first)
    except BillingError as error:
        raise click.ClickException(f"--{error.field or 'month'}: {error.message}") from None
    for check in found.checks:
        verdict = "agrees" if check.agrees else "DIFFERS"
        click.echo(f"{first:%Y-%m} {check.name}: bills {format_yuan(check.from_bills_fen)} 元, "
                   f"ledger {format_yuan(check.from_ledger_fen)} 元, {verdict}")
    if not found.agrees:
        sys.exit(1)


def _required(field: str, value: str | None) -> str:
    if value is None:
        raise InvalidInput(field, "required")
    return value


def _day(field: str, text: str | None) -> date:
    if not ISO_DAY.fullmatch(_required(field, text).strip()):
        raise InvalidInput(field, f"{text[:40]!r} is not a date such as 2026-03-15")
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(field, f"{text[:40]!r} is not a date of the calendar") from None


def as_json(fee: LateFee) -> dict:
    """The computation as the counter and anyone checking it by hand read it."""
    return {
        "category": fee.category,
        "arrears_fen": fee.arrears_fen, "arrears_yuan": format_yuan(fee.arrears_fen),
        "due": fee.due.isoformat(), "paid": fee.paid.isoformat(),
        "days": fee.days, "rates_permille": list(fee.rates_permille),
        "parts": [{"from": part.first_day.isoformat(), "to": part.last_day.isoformat(), "days": part.days,
                   "rate_permille": part.rate_permille, "cross_year": part.cross_year,
                   "exact_millifen": part.exact_millifen, "exact_yuan": format_yuan_millifen(part.exact_millifen)}
                  for part in fee.parts],
        "exact_millifen": fee.exact_millifen, "exact_yuan": format_yuan_millifen(fee.exact_millifen),
        "rounding": "half-up to the fen, once on the total",
        "minimum_applied": fee.minimum_applied,
        "late_fee_fen": fee.late_fee_fen, "late_fee_yuan": format_yuan(fee.late_fee_fen),
    }


def run_report(result: RunResult) -> list[str]:
    """What a run did, for the operator: issued, held (and why), left for a later run (and why)."""
    lines = [f"{result.period}: {result.issued} issued, {result.held} held for review, "
             f"{sum(result.not_billed.values())} not billed, {result.already} billed before, "
             f"{result.late_fees} late fees posted ({format_yuan(result.late_fee_fen)} 元)"]
    if result.held_by_rule:
        lines.append("held: " + ", ".join(f"{rule} {count}" for rule, count in sorted(result.held_by_rule.items())))
    for reason, count in sorted(result.not_billed.items()):
        shown = ", ".join(result.not_billed_accounts.get(reason, []))
        more = " ..." if count > len(result.not_billed_accounts.get(reason, [])) else ""
        lines.append(f"not billed ({reason}): {count}: {shown}{more}")
    return lines



def settle_report(result: DayResult) -> list[str]:
    """What a day's settlement did: charged (amount, energy), balance events, left for a later run (and why)."""
    lines = [f"{result.day}: {result.charged} charged ({format_yuan(result.amount_fen)} 元, "
             f"{result.energy_wh // 1000} kWh), {sum(result.not_charged.values())} not charged, "
             f"{result.low} balance low, {result.negative} balance negative"]
    for reason, count in sorted(result.not_charged.items()):
        shown = result.not_charged_accounts.get(reason, [])
        more = " ..." if count > len(shown) else ""
        lines.append(f"not charged ({reason}): {count}: {', '.join(shown)}{more}; "
                     f"settle {result.day} again once the reads are in")
    return lines
