"""The dunning ladder and what cron runs beside it, on a fixed clock: for the dunning and supply-order tests."""

from __future__ import annotations

import io
from collections import Counter
from datetime import datetime

from sqlmodel import select

from billing import dunning
from billing.clock import BEIJING
from billing.db import read_session, unit_of_work
from notifications.channels.console import ConsoleChannel
from notifications.dispatch import dispatch
from notifications.intake import take_events
from notifications.records import Message
from tests import factories


def bj(*args) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


def debtor(engine, clock, phone="13911110000", **fields):
    """An account with a resident bound to it (who hears of every step)."""
    with unit_of_work(engine) as db:
        account = factories.account(db, at=clock(), **fields)
        factories.resident(db, phone, at=clock(), accounts=(account,))
    return account


def run_ladder(engine, clock, at: datetime) -> Counter:
    clock.now = at
    return dunning.run(engine, on=at.date(), now=at)


def notify(engine, clock) -> None:
    """What cron does between dunning runs: read the events, send what is due (the console delivers)."""
    take_events(engine, clock=clock)
    dispatch(engine, {"sms": ConsoleChannel(io.StringIO())}, clock=clock)


def sent(engine) -> list[tuple[str, str]]:
    with read_session(engine) as db:
        return [(m.kind, m.status) for m in db.exec(select(Message).order_by(Message.id)).all()]
