"""Finance's decision on a proposed refund, in one call: approve it and send it to the channel at
once, or reject it.

The answer is the refund as it stands afterwards, so that whoever asked can say what the channel
answered: ``succeeded`` (a counter refund is paid out in cash at once; a channel may confirm at
once), ``submitted`` (accepted or not reachable: processing, to be confirmed by notification or
``payments sync``), ``failed`` (the channel refused; ``failure`` holds its reason) or ``rejected``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import select

from billing.db import read_session, unit_of_work
from billing.errors import NotFound
from payments import refunds
from payments.errors import GatewayError, RefundNotAllowed
from payments.gateways.base import Gateway
from payments.orders import COUNTER
from payments.refunds import Refund
from payments.sync import submit_refund


def decide_refund(engine: Engine, gateways: dict[str, Gateway], refund_no: str, *, staff_id: int, approve: bool,
                  now: datetime) -> Refund:
    with unit_of_work(engine) as session:
        refund = session.exec(select(Refund).where(Refund.refund_no == refund_no).with_for_update()).first()
        if refund is None:
            raise NotFound("no such refund", field="refund_no")
        if approve and refund.channel != COUNTER and refund.channel not in gateways:
            raise RefundNotAllowed(f"{refund.channel} is not configured here", field="channel")
        refunds.decide(session, refund, staff_id=staff_id, approve=approve, now=now)
    if not approve:
        return refund
    try:
        return submit_refund(engine, gateways, refund_no, now=now)
    except GatewayError:  # not reachable: it may have arrived, so it stays submitted for sync to query
        with read_session(engine) as session:
            return session.exec(select(Refund).where(Refund.refund_no == refund_no)).one()
