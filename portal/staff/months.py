"""The month a monthly staff page shows (``?month=2026-11``, else the current Beijing month) and the
months its picker offers."""

from __future__ import annotations

from datetime import date

from flask import request

from billing.assessment import month_start
from billing.clock import beijing_date
from billing.finance_statement import months_before
from portal.wiring import services


def asked_month() -> tuple[date, date]:
    """The first day of the month asked for, else of the current one; and of the current one."""
    current = beijing_date(services().clock()).replace(day=1)
    asked = request.args.get("month", "").strip()
    return (month_start(asked) if asked else current), current


def recent_months(current: date, count: int) -> list[date]:
    """``current`` and the ``count - 1`` months before it, newest first."""
    return [months_before(current, back) for back in range(count)]
