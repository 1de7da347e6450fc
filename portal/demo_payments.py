"""The demo county's bills with their payments: ``demo.bills`` decides who pays what and when, and
the money is taken at the counter by the cashier's own path (``payments.counter``), which the demo
package may not import (layers)."""

from __future__ import annotations

from datetime import date, datetime

from billing.clock import to_beijing
from billing.money import format_yuan
from billing.read_rules import ReadRules
from demo.bills import DemoBills, Payment, add_bills
from payments import counter
from payments.checkout import Limits

# One receipt may carry up to the counter's ceiling (a factory's bill is paid in several).
DEMO_LIMITS = Limits(maximum_fen=counter.MAX_RECEIPT_FEN)


def pay_at_counter(session, payment: Payment) -> None:
    counter.take_payment(session, cashier_id=payment.cashier_id, method=payment.method,
                         rows=[(payment.account_no, format_yuan(payment.amount_fen))], limits=DEMO_LIMITS,
                         now=payment.at,
                         receipt_no=f"{counter.RECEIPT_PREFIX}{to_beijing(payment.at):%Y%m%d}{payment.ref}")


def load_demo_bills(engine, *, seed: int, now: datetime, first_read: date,
                    rules: ReadRules = ReadRules()) -> DemoBills:
    return add_bills(engine, seed=seed, now=now, first_read=first_read, pay=pay_at_counter,
                     receipt_max_fen=counter.MAX_RECEIPT_FEN, rules=rules)


def bills_line(billed: DemoBills) -> str:
    """``demo load``'s report of the bills: how many issued and in what state, held, paid, owed."""
    states = ", ".join(f"{state} {count}" for state, count in sorted(billed.states.items()))
    aging = ", ".join(f"{label} {format_yuan(fen)}" for label, fen in billed.past_due_fen.items())
    skipped = ", ".join(f"{reason} {count}" for reason, count in sorted(billed.not_billed.items())) or "none"
    months = f"{billed.months[0]}..{billed.months[-1]}" if billed.months else "no month"
    return (f"demo bills {months}: {billed.issued} issued ({states}), {billed.held} held in the review queue "
            f"(after the reviewer estimated {billed.estimated} misread month-end reads), {billed.payments} counter receipts, "
            f"{billed.late_fees} late fees posted ({format_yuan(billed.late_fee_fen)} 元); "
            f"prepaid: {billed.settled_days} days settled, {billed.top_ups} top-ups, {billed.low} balance_low and "
            f"{billed.negative} balance_negative events; "
            f"past due by days (元): {aging}; not billed: {skipped}")
