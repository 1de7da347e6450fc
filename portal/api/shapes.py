"""Records as the API answers them: integer fen and Wh, ISO dates, names masked, texts in the
caller's language.  portal/api/spec.py documents each shape under the same name."""

from __future__ import annotations

from datetime import date, datetime

from billing.accounts import Account
from billing.bill_explained import AccountBill, Standing
from billing.account_summary import AccountSummary
from billing.bindings import BoundAccount
from billing.payment_history import PaymentEntry
from billing.usage import UsageSeries
from payments.orders import PaymentOrder
from portal.bill_document import BillDocument
from portal.i18n import gettext
from portal.pages.bills import standing_words


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _moment(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def account(bound: BoundAccount, standing: Standing) -> dict:
    text, values = standing_words(standing)
    return {
        "account_no": bound.account_no, "label": bound.label, "holder_name_masked": bound.holder_masked,
        "category": bound.category, "regime": bound.regime, "status": bound.status,
        "balance_low_fen": bound.balance_low_fen, "balance_fen": standing.balance_fen,
        "overdue_days": standing.overdue_days, "due_date": _day(standing.due_date),
        "standing_text": gettext(text, **values),
    }


def bill(found: AccountBill) -> dict:
    row, status = found.bill, found.status
    return {
        "id": row.id, "number": row.number or "", "period_start": _day(row.period_start),
        "period_end": _day(row.period_end), "issue_date": _day(row.issue_date), "due_date": _day(row.due_date),
        # int(): PostgreSQL sums the allocation rows to a Decimal (billing.bill_status passes it on)
        "state": status.state, "total_fen": int(status.total_fen), "paid_fen": int(status.paid_fen),
        "owed_fen": int(status.owed_fen), "overdue_days": status.overdue_days,
    }


def bill_detail(found: AccountBill, document: BillDocument) -> dict:
    tiers, ahead = document.tiers, document.forecast
    return bill(found) | {
        "holder_name_masked": document.holder_masked,
        "lines": [{"kind": line.kind, "name": gettext(line.name), "amount_fen": line.amount_fen, "wh": line.wh,
                   "price_millifen_per_kwh": line.price_millifen_per_kwh, "note": line.note}
                  for line in document.lines],
        "reads": [{"on": _day(read.on), "meter_no": read.meter_no, "register_wh": read.register_wh,
                   "source": read.source} for read in document.reads],
        "tiers": None if tiers is None else {
            "used_wh": tiers.used_wh, "tier": tiers.tier, "left_in_tier_wh": tiers.left_in_tier_wh,
            "yearly": tiers.yearly, "thresholds_wh": list(tiers.thresholds_wh)},
        "forecast": None if ahead is None else {
            "start": _day(ahead.start), "end": _day(ahead.end), "wh": ahead.wh, "amount_fen": ahead.amount_fen},
    }


def payment(entry: PaymentEntry) -> dict:
    return {"receipt_id": entry.transfer_id, "kind": entry.kind, "amount_fen": entry.amount_fen,
            "channel": entry.channel, "reference": entry.reference, "posted_at": _moment(entry.posted_at),
            "business_date": _day(entry.business_date), "balance_after_fen": entry.balance_after_fen}


def order(row: PaymentOrder, progress: str, lines: list[tuple[Account, int, int | None]]) -> dict:
    """An order as its payer (or the holder of a 户号 it paid for) reads it: ``lines`` only theirs."""
    return {
        "out_trade_no": row.out_trade_no, "channel": row.channel, "purpose": row.purpose, "state": row.state,
        "progress": progress, "amount_fen": sum(amount for _, amount, _ in lines),
        "created_at": _moment(row.created_at), "paid_at": _moment(row.paid_at), "expires_at": _moment(row.expires_at),
        "lines": [{"account_no": line.account_no, "amount_fen": amount, "balance_after_fen": after}
                  for line, amount, after in lines],
    }


def usage(series: UsageSeries) -> dict:
    return {"granularity": series.granularity, "total_wh": series.total_wh, "tou": series.tou, "periods": [{
        "label": period.label, "start": _day(period.start), "end": _day(period.end), "wh": period.wh,
        "sharp_wh": period.sharp_wh, "peak_wh": period.peak_wh, "flat_wh": period.flat_wh,
        "valley_wh": period.valley_wh, "estimated": period.estimated, "last_year_wh": period.last_year_wh,
    } for period in series.periods]}


def summary(found: AccountSummary) -> dict:
    bound, tiers, ahead = found.account, found.tiers, found.forecast
    return {
        "account_no": bound.account_no, "label": bound.label, "holder_name_masked": bound.holder_masked,
        "regime": bound.regime, "balance_fen": found.balance_fen, "state": found.state,
        "due_date": _day(found.due_date), "overdue_days": found.overdue_days,
        "tiers": None if tiers is None else {
            "period": tiers.period, "used_wh": tiers.used_wh, "tier": tiers.tier,
            "left_in_tier_wh": tiers.left_in_tier_wh, "thresholds_wh": list(tiers.thresholds_wh)},
        "forecast": None if ahead is None else {
            "month": ahead.month, "measured_wh": ahead.measured_wh, "measured_through": _day(ahead.measured_through),
            "wh": ahead.wh, "amount_fen": ahead.amount_fen},
        "last_payment": None if found.last_payment is None else payment(found.last_payment),
        "daily_use_wh": found.daily_use_wh, "daily_cost_fen": found.daily_cost_fen, "days_left": found.days_left,
        "read_through": _day(found.read_through),
    }
