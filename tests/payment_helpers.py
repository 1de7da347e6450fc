"""Test helpers that act like a payer's phone at a sandbox cashier, one per channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import requests

from sqlmodel import select

from billing import ledger
from billing.db import read_session, unit_of_work
from billing.incidents import Incident
from billing.staff import add_staff
from payments import checkout, decisions, refunds
from payments.gateways.base import PAID, PaymentReport
from payments.orders import PaymentOrder
from payments.refunds import Refund
from payments.settlement import settle
from payments.sync import submit_refund, sync
from payments.sandbox.delivery import Attempt, Delivery
from tests import factories

SCENES = {"wechat": "h5", "alipay": "wap"}


@dataclass
class Phone:
    """Pays at a channel's sandbox cashier and builds the channel's notification for it."""

    channel: str
    sandbox: object

    def pay(self, placed: PaymentOrder, payer: str | None = None) -> str:
        """Open the cashier (Alipay creates a WAP trade only then) and pay; no notification yet."""
        if placed.checkout_url and placed.checkout_url.startswith("http"):
            requests.get(placed.checkout_url, timeout=10).raise_for_status()
        if self.channel == "wechat":
            return self.sandbox.pay(placed.out_trade_no, payer=payer, notify=False)
        return self.sandbox.pay(placed.out_trade_no, buyer=payer, notify=False)

    def notification(self, out_trade_no: str, txn: str, forge: str | None = None) -> Delivery:
        if self.channel == "wechat":
            return self.sandbox.notification(txn, forge=forge)
        return self.sandbox.notification(out_trade_no, forge=forge)

    def deliver(self, delivery: Delivery) -> Attempt:
        return self.sandbox.deliver(delivery)


def phone(request_or_fixtures, channel: str) -> Phone:
    sandbox = request_or_fixtures.getfixturevalue(f"{channel}_sandbox")
    return Phone(channel, sandbox)


def acknowledged(channel: str, attempt: Attempt) -> bool:
    return attempt.status == 204 if channel == "wechat" else (attempt.status, attempt.body) == (200, "success")


def new_account(engine, clock, **fields):
    with unit_of_work(engine) as db:
        return factories.account(db, at=clock(), **fields)


def start_payment(engine, gateway, account, amount_fen: int, clock, *, purpose: str = "prepay") -> PaymentOrder:
    return checkout.start(engine, gateway, purpose=purpose, scene=SCENES[gateway.channel], lines=[(account, amount_fen)],
                          description="电费预存", limits=checkout.Limits(), now=clock()).order


def balance(engine, account) -> int:
    with read_session(engine) as db:
        return ledger.balance_fen(db, ledger.customer_code(account.account_no))


def order(engine, out_trade_no: str) -> PaymentOrder:
    with read_session(engine) as db:
        return db.exec(select(PaymentOrder).where(PaymentOrder.out_trade_no == out_trade_no)).one()


def refund_held_money(engine, clock, gateways, wechat_sandbox) -> None:
    """The one held payment's incident decided ``refund`` by one finance clerk, approved by another,
    sent to WeChat Pay and confirmed by the sync."""
    with unit_of_work(engine) as db:
        asker, approver = (add_staff(db, username=f"finance{n}", name="陈静", password="pw", roles=["finance"]).id
                           for n in (1, 2))
    with read_session(engine) as db:
        incident = db.exec(select(Incident)).one()
    with unit_of_work(engine) as db:
        decisions.decide(db, incident.id, decision="refund", staff_id=asker, now=clock())
    with unit_of_work(engine) as db:
        refund = refunds.decide(db, db.exec(select(Refund)).one(), staff_id=approver, approve=True, now=clock())
    submit_refund(engine, gateways, refund.refund_no, now=clock())
    assert wechat_sandbox.wait_idle(10)
    sync(engine, gateways, now=clock(), older_than=timedelta(minutes=5))


def booked_without_the_channel(engine, clock, gateways, channel, amount):
    """A payment we booked on a report the channel's books do not have (短款)."""
    account = new_account(engine, clock)
    started = start_payment(engine, gateways[channel], account, amount, clock)
    merchant = gateways[channel].merchant
    report = PaymentReport(channel, started.out_trade_no, PAID, amount, merchant.app_id, merchant.merchant_id,
                           channel_txn_id=f"GHOST{started.out_trade_no}", paid_at=clock(), source="query")
    with unit_of_work(engine) as db:
        assert settle(db, report, merchant, now=clock()).outcome == "credited"
    return report.channel_txn_id
