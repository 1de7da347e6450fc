"""``dianfei tariff quote``: a month's bill at a tariff, line by line, as JSON anyone can check by hand.

    dianfei tariff quote TARIFF_ID --period YYYY-MM --kwh N [--peak-kwh P --valley-kwh V]
        [--sharp-kwh S] [--flat-kwh F] [--ytd-kwh Y] [--move-in D] [--move-out D]
        [--kva K | --kw K] [--power-factor PF]

Bad input (an unknown tariff, a bad number, a month no version covers) ends with exit status 1 and
one line on stderr naming the option; nothing here touches the database.
"""

from __future__ import annotations

import calendar
import json
import re
from datetime import date
from decimal import Decimal

import click

from billing.errors import BillingError
from billing.pricing import Usage, quote
from billing.tariff_files import TOU, TWO_PART, TariffFileInvalid, find_tariff

OPTIONS = {  # a pricing error's field -> the option an operator typed
    "wh": "--kwh", "buckets": "--kwh", "before_wh": "--ytd-kwh", "period": "--period", "tariff": "TARIFF_ID",
    "move_in": "--move-in", "move_out": "--move-out", "capacity_kva": "--kva", "max_demand_w": "--kw",
    "power_factor": "--power-factor",
} | {f"buckets.{bucket}": f"--{bucket}-kwh" for bucket in ("sharp", "peak", "flat", "valley")}
_PERIOD = re.compile(r"(?P<year>[0-9]{4})-(?P<month>0[1-9]|1[0-2])")
_DECIMAL = re.compile(r"[0-9]{1,12}(\.[0-9]+)?")


class OneLineCommand(click.Command):
    """Usage mistakes end like every other bad input here: one line on stderr, exit status 1."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as error:
            raise click.ClickException(error.format_message()) from None


@click.group("tariff")
def tariff_group() -> None:
    """Tariffs (billing/tariffs/*.toml) and what they charge."""


@tariff_group.command("quote", cls=OneLineCommand)
@click.argument("tariff_id")
@click.option("--period", required=True, help="The month, YYYY-MM.")
@click.option("--kwh", required=True, help="The month's use in kWh (up to 3 decimals).")
@click.option("--peak-kwh", help="峰: peak kWh (a 峰谷 or 尖峰平谷 meter).")
@click.option("--valley-kwh", help="谷: valley kWh.")
@click.option("--sharp-kwh", help="尖: sharp kWh.")
@click.option("--flat-kwh", help="平: flat kWh (default: --kwh minus the other buckets).")
@click.option("--ytd-kwh", default="0", show_default=True,
              help="Annual tiers: the kWh used this year before the month.")
@click.option("--move-in", help="YYYY-MM-DD, if the account moved in this tier period (thresholds prorated).")
@click.option("--move-out", help="YYYY-MM-DD, if the account moved out.")
@click.option("--kva", help="Two-part tariffs: transformer capacity in kVA (basic charge by capacity).")
@click.option("--kw", help="Two-part tariffs: maximum demand in kW (basic charge by demand).")
@click.option("--power-factor", help="Two-part tariffs: the month's power factor, such as 0.92.")
def quote_command(tariff_id: str, period: str, **options: str | None) -> None:
    """Print the lines and the total (total_fen) of one month at a tariff, as JSON."""
    try:
        tariff = find_tariff(tariff_id)
        start, end = _month(period)
        usage = _usage(tariff.kind, options)
        priced = quote(tariff, start, end, usage)
    except TariffFileInvalid as error:
        raise click.ClickException(f"tariff files: {error}") from None
    except BillingError as error:
        option = OPTIONS.get(error.field or "", error.field)
        raise click.ClickException(f"{option}: {error.message}" if option else error.message) from None
    click.echo(json.dumps(priced.as_dict(), ensure_ascii=False, indent=2))


def _month(period: str) -> tuple[date, date]:
    match = _PERIOD.fullmatch(period)
    if match is None:
        raise click.ClickException(f"--period: {period[:20]!r} is not a month written as YYYY-MM")
    year, month = int(match["year"]), int(match["month"])
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _usage(kind: str, options: dict[str, str | None]) -> Usage:
    wh = _milli(options["kwh"], "--kwh")
    buckets = {bucket: _milli(options[f"{bucket}_kwh"], f"--{bucket}-kwh")
               for bucket in ("sharp", "peak", "flat", "valley") if options[f"{bucket}_kwh"] is not None}
    given = sum(buckets.values())
    if buckets and options["flat_kwh"] is None and kind in (TOU, TWO_PART) and wh >= given:
        buckets["flat"] = wh - given  # 平 is what the other registers leave
    elif buckets and given != wh:
        raise click.ClickException(f"--kwh: {options['kwh']} kWh but the TOU buckets add up to {Decimal(given) / 1000} kWh")
    return Usage(
        wh=wh, buckets={bucket: value for bucket, value in buckets.items() if value},
        before_wh=_milli(options["ytd_kwh"], "--ytd-kwh"),
        move_in=_day(options["move_in"], "--move-in"), move_out=_day(options["move_out"], "--move-out"),
        capacity_kva=None if options["kva"] is None else _whole(options["kva"], "--kva"),
        max_demand_w=None if options["kw"] is None else _milli(options["kw"], "--kw"),
        power_factor=None if options["power_factor"] is None else _decimal(options["power_factor"], "--power-factor"),
    )


def _decimal(text: str, option: str) -> Decimal:
    if not _DECIMAL.fullmatch(text.strip()):
        raise click.ClickException(f"{option}: {text[:20]!r} is not a number >= 0 such as 12.5")
    return Decimal(text.strip())


def _milli(text: str, option: str) -> int:
    """kWh -> Wh, kW -> W: exact, at most three decimals."""
    thousandths = _decimal(text, option) * 1000
    if thousandths != thousandths.to_integral_value():
        raise click.ClickException(f"{option}: {text[:20]!r} has more than 3 decimals")
    return int(thousandths)


def _whole(text: str, option: str) -> int:
    number = _decimal(text, option)
    if number != number.to_integral_value():
        raise click.ClickException(f"{option}: {text[:20]!r} is not a whole number")
    return int(number)


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:  # 2026-02-30
            pass
    raise click.ClickException(f"{option}: {text[:20]!r} is not a date written as YYYY-MM-DD")
