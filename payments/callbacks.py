"""Handling a channel's notification: verify -> parse -> settle -> answer in the channel's words.

A notification that fails verification changes nothing and gets the channel's 'fail'.  A verified
one is settled in one transaction (idempotent: duplicates are no-ops) and acknowledged.  If our
side fails (database down), the answer asks the channel to send it again later.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from billing.db import unit_of_work
from payments import refunds
from payments.errors import NotificationRejected
from payments.gateways.base import Answer, Gateway
from payments.settlement import settle

log = logging.getLogger(__name__)


def handle(engine: Engine, gateway: Gateway, headers: dict[str, str], body: bytes, *, now: datetime) -> Answer:
    try:
        notification = gateway.parse_notification(headers, body, now=now)
    except NotificationRejected as rejected:
        log.warning("%s notification rejected: %s", gateway.channel, rejected.reason)
        return gateway.reject
    try:
        with unit_of_work(engine) as session:
            if notification.payment is not None:
                settle(session, notification.payment, gateway.merchant, now=now)
            if notification.refund is not None:
                refunds.apply_report(session, notification.refund, now=now)
    except OperationalError:
        log.exception("%s notification could not be settled now; the channel will retry", gateway.channel)
        return gateway.retry
    return gateway.ack
