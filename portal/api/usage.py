"""Usage and the home summary, the JSON twins of the web's usage charts and home page: use by day,
month (beside the same month a year before) and year with the 尖峰平谷 split, from the reads
(``billing.usage``); each 户号's standing, tier progress, forecast, last payment and days left
(``billing.account_summary``)."""

from __future__ import annotations

from flask import jsonify, request

from billing import account_summary, usage
from billing.db import read_session, session_on
from billing.errors import InvalidInput
from billing.resident_home import home_facts
from portal.api import blueprint, shapes
from portal.api.accounts import mine, today
from portal.api.calls import resident_id
from portal.wiring import reading_connection, services

SERIES = {  # granularity -> (function, its query parameter, the values allowed, the default)
    "daily": (usage.daily_usage, "days", usage.DAILY_DAYS, usage.DAILY_DAYS[0]),
    "monthly": (usage.monthly_usage, "months", range(1, usage.MONTHS_SHOWN + 1), usage.MONTHS_SHOWN),
    "yearly": (usage.yearly_usage, "years", range(1, usage.YEARS_SHOWN + 1), usage.YEARS_SHOWN),
}


def _count(name: str, allowed, default: int) -> int:
    text = request.args.get(name, "")
    if not text:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 3 and int(text) in allowed):
        raise InvalidInput(name, f"one of {min(allowed)}..{max(allowed)}", allowed=", ".join(map(str, allowed)))
    return int(text)


def _usage(account_no: str, granularity: str):
    series, name, allowed, default = SERIES[granularity]
    count = _count(name, allowed, default)
    with read_session(services().engine) as db:
        found = series(db, mine(db, account_no).id, on=today(), **{name: count})
    return jsonify(shapes.usage(found))


@blueprint.get("/accounts/<account_no>/usage/daily")
def daily_usage(account_no: str):
    return _usage(account_no, "daily")


@blueprint.get("/accounts/<account_no>/usage/monthly")
def monthly_usage(account_no: str):
    return _usage(account_no, "monthly")


@blueprint.get("/accounts/<account_no>/usage/yearly")
def yearly_usage(account_no: str):
    return _usage(account_no, "yearly")


@blueprint.get("/accounts/<account_no>/summary")
def summary(account_no: str):
    with read_session(services().engine) as db:
        return jsonify(shapes.summary(account_summary.account_summary(db, resident_id(), account_no, on=today(),
                                                                          kept=services().summaries)))


@blueprint.get("/home")
def home():
    connection = reading_connection()
    with session_on(connection) as db:
        facts = home_facts(connection, resident_id())
        accounts = facts.accounts if facts else ()  # no such resident: a reset under a live login
        found = account_summary.summaries_of(db, accounts, on=today(), kept=services().summaries)
    return jsonify(items=[shapes.summary(one) for one in found])
