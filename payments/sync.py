"""Talking to the channels about what has not heard back: ``dianfei payments sync``.

- Orders still open after a few minutes are queried and settled (a lost notification is found
  here); expired ones are closed at the channel, and if the channel says "already paid" they are
  queried and settled instead.
- Refunds submitted but not confirmed are queried; one the channel never received is submitted
  again under the same refund number.

Everything goes through ``settle`` and ``refunds.apply_report``, which lock and are idempotent, so
sync can run at any time, next to live callbacks and next to another sync.  A failure with one
order or refund (the channel or our database) is recorded in the summary and sync goes on with
the others; the command exits non-zero at the end.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from billing.db import read_session, unit_of_work
from billing.failure_log import cause, quiet_repeats
from payments import refunds
from payments.errors import AlreadyPaid, GatewayError
from payments.gateways.base import REFUND_SUCCEEDED, REFUND_UNKNOWN, Gateway, RefundReport
from payments.orders import CLOSED, COUNTER, CREATED, PAYING, ChannelPayment, PaymentOrder, get_order, transition
from payments.refunds import Refund
from payments.settlement import settle

FAILURES = (GatewayError, SQLAlchemyError)  # what one order's or refund's sync may meet: the rest carry on
log = quiet_repeats(logging.getLogger(__name__))


@dataclass
class SyncSummary:
    checked: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    closed: int = 0
    refunds_checked: int = 0
    errors: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    @contextmanager
    def recording(self, subject: str) -> Iterator[None]:
        """One piece of the sync: its failure is recorded (and logged) instead of ending the run."""
        try:
            yield
        except FAILURES as error:
            self.errors.append(f"{subject}: {cause(error) if isinstance(error, SQLAlchemyError) else error}")
            log.warning("payments sync: %s failed: %s", subject, cause(error), exc_info=error)


def sync(engine: Engine, gateways: dict[str, Gateway], *, now: datetime, older_than: timedelta,
         limit: int = 1000) -> SyncSummary:
    summary, channels = SyncSummary(), list(gateways)
    orders, submitted = [], []
    with summary.recording("open orders"):
        orders = _open_orders(engine, channels, now - older_than, limit)
    for out_trade_no, channel in orders:
        with summary.recording(out_trade_no):
            _sync_order(engine, gateways[channel], out_trade_no, now, summary)
    with summary.recording("submitted refunds"):
        submitted = _submitted_refunds(engine, channels, limit)
    for refund_no in submitted:
        with summary.recording(refund_no):
            _sync_refund(engine, gateways, refund_no, now)
            summary.refunds_checked += 1
    return summary


def _open_orders(engine: Engine, channels: list[str], before: datetime, limit: int) -> list[tuple[str, str]]:
    with read_session(engine) as session:
        return list(session.exec(
            select(PaymentOrder.out_trade_no, PaymentOrder.channel)
            .where(PaymentOrder.state.in_((CREATED, PAYING)), PaymentOrder.channel.in_(channels),
                   PaymentOrder.created_at <= before)
            .order_by(PaymentOrder.created_at).limit(limit)
        ))


def _sync_order(engine: Engine, gateway: Gateway, out_trade_no: str, now: datetime, summary: SyncSummary) -> None:
    summary.checked += 1
    outcome = _query_and_settle(engine, gateway, out_trade_no, now)
    summary.count(outcome)
    if outcome != "pending":
        return
    with read_session(engine) as session:
        expired = get_order(session, out_trade_no).expires_at <= now
    if not expired:
        return
    try:
        gateway.close(out_trade_no)
    except AlreadyPaid:  # paid in the last moment: book it
        summary.count(_query_and_settle(engine, gateway, out_trade_no, now))
        return
    with unit_of_work(engine) as session:
        order = get_order(session, out_trade_no, lock=True)
        if order.state in (CREATED, PAYING):
            transition(order, CLOSED, now)
            session.add(order)
            summary.closed += 1


def _query_and_settle(engine: Engine, gateway: Gateway, out_trade_no: str, now: datetime) -> str:
    report = gateway.query(out_trade_no)
    with unit_of_work(engine) as session:
        return settle(session, report, gateway.merchant, now=now).outcome


def _submitted_refunds(engine: Engine, channels: list[str], limit: int) -> list[str]:
    with read_session(engine) as session:
        return list(session.exec(
            select(Refund.refund_no).where(Refund.state == refunds.SUBMITTED, Refund.channel.in_(channels))
            .order_by(Refund.submitted_at).limit(limit)
        ))


def _sync_refund(engine: Engine, gateways: dict[str, Gateway], refund_no: str, now: datetime) -> None:
    with read_session(engine) as session:
        refund, payment = _refund_context(session, refund_no)
    report = gateways[refund.channel].query_refund(refund_no, out_trade_no=payment.out_trade_no)
    if report.status == REFUND_UNKNOWN:  # never arrived: the same number makes the retry safe
        report = _send_refund(gateways[refund.channel], refund, payment)
    with unit_of_work(engine) as session:
        refunds.apply_report(session, report, now=now)


def submit_refund(engine: Engine, gateways: dict[str, Gateway], refund_no: str, *, now: datetime) -> Refund:
    """Send an approved refund to its channel; a counter refund is paid out in cash at once."""
    with unit_of_work(engine) as session:
        refund, payment = _refund_context(session, refund_no)
        refunds.mark_submitted(session, refund, now)
    if refund.channel == COUNTER:
        report = RefundReport(COUNTER, refund_no, REFUND_SUCCEEDED, refund.amount_fen)
    else:
        try:
            report = _send_refund(gateways[refund.channel], refund, payment)
        except GatewayError as error:
            if error.channel_code == "NETWORK":
                raise  # it may have arrived: leave it submitted for sync to query
            with unit_of_work(engine) as session:
                refused = session.get(Refund, refund.id)
                refunds.fail(session, refused, str(error), now)
                return refused
    with unit_of_work(engine) as session:
        return refunds.apply_report(session, report, now=now)


def _send_refund(gateway: Gateway, refund: Refund, payment: ChannelPayment) -> RefundReport:
    return gateway.refund(refund.refund_no, out_trade_no=payment.out_trade_no, channel_txn_id=payment.channel_txn_id,
                          amount_fen=refund.amount_fen, total_fen=payment.amount_fen, reason=refund.reason)


def _refund_context(session, refund_no: str) -> tuple[Refund, ChannelPayment]:
    refund = session.exec(select(Refund).where(Refund.refund_no == refund_no)).one()
    return refund, session.get(ChannelPayment, refund.channel_payment_id)
