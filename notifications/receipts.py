"""Delivery reports into the delivery log: pull them from each channel that keeps them, record each.

A provider such as Tencent Cloud SMS keeps the handsets' reports until they are pulled, a page at a
time; each one turns a ``sent`` message ``delivered`` (the evidence dunning cites) or ``failed`` with
the report's words.  A report for a message we do not know (another system on the same SMS app, a
report pulled twice) is counted and dropped.  A failed pull stops the run and is reported; the
reports wait at the provider for the next run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Engine

from notifications.channels.base import Outcome
from notifications.dispatch import record_receipt


@dataclass
class Collected:
    delivered: int = 0
    undelivered: int = 0
    unknown: int = 0
    error: str = ""


def collect_receipts(engine: Engine, channels: Mapping[str, object]) -> Collected:
    """Apply every waiting report of every channel that has ``pull_receipts``."""
    done = Collected()
    for name, channel in channels.items():
        pull = getattr(channel, "pull_receipts", None)
        while pull is not None:
            page = pull()
            if isinstance(page, Outcome):  # an outage: the reports wait at the provider
                done.error = f"{name}: {page.error}"
                break
            if not page:
                break
            for receipt in page:
                _apply(engine, name, receipt, done)
    return done


def _apply(engine: Engine, channel: str, receipt, done: Collected) -> None:
    known = record_receipt(engine, channel, receipt.provider_ref, delivered=receipt.delivered,
                           receipt=receipt.receipt, at=receipt.at)
    if not known:
        done.unknown += 1
    elif receipt.delivered:
        done.delivered += 1
    else:
        done.undelivered += 1
