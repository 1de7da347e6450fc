"""The account's whole story as the account page shows it: each section from its own service
query (billing, payments, notifications), and the use charts drawn from the valid reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session

from billing import account_story, bill_explained
from billing.account_history import History
from billing.accounts import Customer
from billing.audit import AuditEntry
from billing.kwh import format_kwh
from billing.reads import ESTIMATED
from billing.review import READ_FINDING
from notifications.delivery_log import Logged, delivery_log
from payments import account_payments
from payments.refunds import Refund
from portal.charts import Chart, Point, bar_chart
from portal.i18n import gettext as _
from portal.staff.evidence import kwh_tick

DAILY_DAYS = 60  # the daily chart's window; the monthly one covers every month read
MARK_GAP_DAYS = 5  # findings closer than this to a labelled one are marked without a label


@dataclass
class Story:
    bills: list
    payments: list[account_payments.PaymentLine]
    refunds: list[Refund]
    ledger: list[account_story.LedgerLine]
    messages: list[Logged]
    dunning: account_story.Dunning
    supply_orders: list
    plans: list
    audit: list[tuple[AuditEntry, str]]
    daily: Chart | None
    monthly: Chart | None
    phone: str  # the holder's, for the desk to check who is calling (shown masked)


def story(session: Session, found: History, today: date) -> Story:
    account = found.account
    reads = account_story.valid_reads(session, account.id)
    uses = uses_between_reads(reads)
    return Story(
        bills=bill_explained.account_bills(session, account.id, on=today, include_held=True),
        payments=account_payments.payments(session, account.id),
        refunds=account_payments.refunds(session, account),
        ledger=account_story.ledger_lines(session, account),
        messages=delivery_log(session, account_no=account.account_no),
        dunning=account_story.dunning(session, account.id),
        supply_orders=account_story.supply_orders(session, account.id),
        plans=account_story.plans(session, account.id),
        audit=account_story.audit_trail(session, account_story.account_targets(
            account, *account_payments.audit_targets(account))),
        daily=_daily_chart(uses, today, [item.subject_on for item in found.items if item.kind == READ_FINDING]),
        monthly=_monthly_chart(uses),
        phone=session.get(Customer, account.customer_id).phone or "")


@dataclass(frozen=True)
class Use:
    """Energy between two consecutive valid reads of one meter."""

    start: date
    end: date
    used_wh: int
    estimated: bool

    @property
    def daily_wh(self) -> int:
        return self.used_wh // max((self.end - self.start).days, 1)


def uses_between_reads(reads: list[account_story.ReadPoint]) -> list[Use]:
    """Use between consecutive reads of each meter, at the multiplier in force over the interval
    (the later read's installation: a 倍率 change day's read belongs to the old one)."""
    by_meter: dict[int, list[account_story.ReadPoint]] = {}
    for read in reads:
        by_meter.setdefault(read.meter_id, []).append(read)
    uses = [Use(first.read_on, second.read_on, (second.total_wh - first.total_wh) * second.multiplier,
                ESTIMATED in (first.source, second.source))
            for rows in by_meter.values() for first, second in zip(rows, rows[1:]) if second.read_on > first.read_on]
    return sorted(uses, key=lambda use: use.start)


def _css(use: Use) -> str:
    return " ".join(css for css, on in (("negative", use.used_wh < 0), ("estimated", use.estimated)) if on)


def _daily_chart(uses: list[Use], today: date, findings: list[date]) -> Chart | None:
    """Average use per day between reads over the last days, each day with a read finding marked."""
    origin = today - timedelta(days=DAILY_DAYS)
    shown = [use for use in uses if use.end > origin]
    if not shown:
        return None
    points = [Point(max((use.start - origin).days, 0), (use.end - max(use.start, origin)).days, use.daily_wh,
                    _("{start} 至 {end}：日均 {use} kWh", start=use.start.isoformat(), end=use.end.isoformat(),
                      use=format_kwh(use.daily_wh)), _css(use)) for use in shown]
    labels = [(at, (origin + timedelta(days=at)).strftime("%m-%d")) for at in range(0, DAILY_DAYS, 10)]
    marks, labelled = [], None
    for day in sorted({day for day in findings if origin <= day <= today}):
        close = labelled is not None and (day - labelled).days < MARK_GAP_DAYS  # a label over another is unreadable
        marks.append(((day - origin).days, "" if close else day.strftime("%m-%d")))
        labelled = labelled if close else day
    return bar_chart(points, extent=DAILY_DAYS, tick=kwh_tick, labels=labels, marks=marks)


def _monthly_chart(uses: list[Use]) -> Chart | None:
    """Use per calendar month, each interval counted in the month it starts in (a day's use runs
    from its read to the next day's; a monthly-read meter's 1st-to-1st is that month)."""
    months: dict[tuple[int, int], list[int]] = {}
    for use in uses:
        total = months.setdefault((use.start.year, use.start.month), [0, 0])
        total[0] += use.used_wh
        total[1] += use.estimated
    if not months:
        return None
    first = min(months)
    keys = [(first[0] + (first[1] - 1 + n) // 12, (first[1] - 1 + n) % 12 + 1) for n in range(_span(first, max(months)))]
    points = [Point(at, 1, months[key][0], _("{month}：{use} kWh", month=f"{key[0]}-{key[1]:02d}",
                                               use=format_kwh(months[key][0])),
                    "estimated" if months[key][1] else "")
              for at, key in enumerate(keys) if key in months]
    labels = [(at + 0.5, f"{key[0] % 100:02d}-{key[1]:02d}") for at, key in enumerate(keys) if at % 2 == 0]
    return bar_chart(points, extent=len(keys), tick=kwh_tick, labels=labels)


def _span(first: tuple[int, int], last: tuple[int, int]) -> int:
    return (last[0] - first[0]) * 12 + last[1] - first[1] + 1
