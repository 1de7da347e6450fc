"""Handling a channel's notification: verify -> parse -> settle -> answer in the channel's words.

A notification that fails verification changes nothing and gets the channel's 'fail'.  A verified
one is settled in one transaction (idempotent: duplicates are no-ops) and acknowledged.  If our
side fails in any way (database down, full, read-only, locked), the answer is the channel's own
"send it again later", and it comes fast: every lock wait of the transaction is bounded by
``WAIT_SECONDS``, well inside the 5 s the channel waits for us.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.engine import Engine

from billing.db import unit_of_work
from billing.failure_log import cause, quiet_repeats
from payments import refunds
from payments.errors import NotificationRejected
from payments.gateways.base import Answer, Gateway
from payments.settlement import settle

WAIT_SECONDS = 2.5
log = quiet_repeats(logging.getLogger(__name__))


def handle(engine: Engine, gateway: Gateway, headers: dict[str, str], body: bytes, *, now: datetime) -> Answer:
    try:
        notification = gateway.parse_notification(headers, body, now=now)
    except NotificationRejected as rejected:
        log.warning("%s notification rejected: %s", gateway.channel, rejected.reason)
        return gateway.reject
    try:
        with unit_of_work(engine, wait_seconds=WAIT_SECONDS) as session:
            if notification.payment is not None:
                settle(session, notification.payment, gateway.merchant, now=now)
            if notification.refund is not None:
                refunds.apply_report(session, notification.refund, now=now)
    except Exception as error:  # nothing was recorded, so nothing may be acknowledged: settling again is safe
        log.warning("%s notification not settled, the channel will retry: %s", gateway.channel, cause(error),
                    exc_info=error)
        return gateway.retry
    return gateway.ack
