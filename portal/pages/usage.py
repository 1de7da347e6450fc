"""A 户号's use from its reads: daily (30 or 90 days), monthly (14 months beside the same month last
year) and yearly, each as a chart (chart.js from static/vendor, data in a data- attribute: the CSP
allows no inline script) with the 尖峰平谷 split, and the table behind it one tap away (a <details>
that works without JavaScript)."""

from __future__ import annotations

import json

from flask import Blueprint, render_template, request

from billing import usage
from billing.db import read_session
from billing.reads import REGISTERS
from portal.auth import resident_required
from portal.pages.views import own_account, today
from portal.wiring import services

blueprint = Blueprint("usage", __name__)
VIEWS = (usage.DAY, usage.MONTH, usage.YEAR)


def _series(db, account_id: int, view: str, days: int) -> usage.UsageSeries:
    if view == usage.MONTH:
        return usage.monthly_usage(db, account_id, on=today())
    if view == usage.YEAR:
        return usage.yearly_usage(db, account_id, on=today())
    return usage.daily_usage(db, account_id, on=today(), days=days)


def _chart(series: usage.UsageSeries, registers: list[str]) -> str:
    """What static/js/usage-chart.js draws: Wh per period, split by register where the meter has them."""
    periods = series.periods
    data = {"labels": [p.label for p in periods], "total": [p.wh for p in periods],
            "registers": {name: [getattr(p, f"{name}_wh") for p in periods] for name in registers}}
    if series.granularity == usage.MONTH:
        data["last_year"] = [p.last_year_wh for p in periods]
    return json.dumps(data)


@blueprint.get("/usage/<account_no>")
@resident_required
def page(account_no: str):
    view = request.args.get("view", usage.DAY)
    view = view if view in VIEWS else usage.DAY
    days = next((d for d in usage.DAILY_DAYS if request.args.get("days") == str(d)), usage.DAILY_DAYS[0])
    with read_session(services().engine) as db:
        account = own_account(db, account_no)
        series = _series(db, account.account_id, view, days)
    registers = [name for name in REGISTERS if series.periods and all(
        getattr(p, f"{name}_wh") is not None for p in series.periods)]
    split = {name: sum(getattr(p, f"{name}_wh") for p in series.periods) for name in registers}
    return render_template("pages/usage.html", account=account, series=series, view=view, days=days,
                           registers=registers, split=split, chart=_chart(series, registers),
                           daily_choices=usage.DAILY_DAYS)
