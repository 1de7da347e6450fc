"""Working the supply-order queue (``dianfei supply work``, cron every minute): restores past their
deadline are escalated, due remote orders are sent to the head-end, sent ones are asked about.

Each call to the head-end happens outside any transaction (a slow head-end must not hold the
database's writer lock); its answer is recorded in a short one by ``billing.supply_orders``, which
checks the order has not moved on meanwhile.  Field orders are not sent anywhere: they wait for
staff to confirm them (``confirm_by_staff``).
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Engine

from billing import supply_orders
from billing.clock import Clock
from billing.db import read_session, unit_of_work
from billing.supply_order_records import CUT, SENT, SupplyOrder
from billing.supply_orders import Retry
from metering.errors import HeadEndUnavailable
from metering.head_end import OFF, ON, PENDING, HeadEnd, StatusAnswer, SwitchAnswer


def work_orders(engine: Engine, head_end: HeadEnd | None, clock: Clock, retry: Retry = Retry()) -> Counter:
    """One pass; the count of what happened (sent, refused, confirmed, failed, pending, escalated).
    Without a head-end (none configured) remote orders wait, and late restores are still escalated."""
    done: Counter = Counter()
    with unit_of_work(engine) as session:
        done["escalated"] += supply_orders.escalate_late(session, clock())
    if head_end is not None:
        with read_session(engine) as session:
            orders = supply_orders.due(session, clock())
        for order in orders:
            outcome = _ask(engine, head_end, order, clock, retry) if order.state == SENT else \
                _send(engine, head_end, order, clock, retry)
            done[outcome] += outcome is not None
    return +done


def _send(engine: Engine, head_end: HeadEnd, order: SupplyOrder, clock: Clock, retry: Retry) -> str | None:
    ref = supply_orders.switch_ref(order)
    try:
        answer = head_end.switch(order.meter_no, OFF if order.kind == CUT else ON, ref)
    except HeadEndUnavailable as error:
        answer = SwitchAnswer(False, error=error.message)
    with unit_of_work(engine) as session:
        if answer.accepted:
            recorded = supply_orders.record_sent(session, order.id, ref, head_end_ref=answer.ref, now=clock(),
                                                 retry=retry)
            return "sent" if recorded else None
        recorded = supply_orders.record_refused(session, order.id, ref, error=answer.error, now=clock(), retry=retry)
        return "refused" if recorded else None


def _ask(engine: Engine, head_end: HeadEnd, order: SupplyOrder, clock: Clock, retry: Retry) -> str | None:
    try:
        answer = head_end.status(order.head_end_ref)
    except HeadEndUnavailable as error:  # asked again next pass; a long silence counts as a failure
        answer = StatusAnswer(PENDING, error.message)
    with unit_of_work(engine) as session:
        recorded = supply_orders.record_answer(session, order.id, order.head_end_ref, state=answer.state,
                                               error=answer.error, now=clock(), retry=retry)
        return answer.state if recorded else None
