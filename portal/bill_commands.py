"""``dianfei bills ...``: bills and what they cost when paid late.

    dianfei bills late-fee --category C --arrears YUAN --due YYYY-MM-DD [--paid YYYY-MM-DD]

``late-fee`` answers the counter's "how much if I pay today": the 违约金 computation as JSON
(``billing.late_fees``).  It is arithmetic only, so it needs no database and works with it down.
Bad input ends with one line naming the option and exit status 1.
"""

from __future__ import annotations

import json
import re
from datetime import date

import click

from billing.accounts import CATEGORIES
from billing.clock import beijing_date, system_clock
from billing.errors import InvalidInput
from billing.late_fees import LateFee, late_fee
from billing.money import format_yuan, format_yuan_millifen, parse_yuan

OPTIONS = {"category": "--category", "arrears": "--arrears", "arrears_fen": "--arrears", "due": "--due", "paid": "--paid"}
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # fromisoformat alone would also take 20260105 and 2026-W01-1


@click.group("bills")
def bills_group() -> None:
    """Bills: the late fee (违约金) on arrears."""


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
