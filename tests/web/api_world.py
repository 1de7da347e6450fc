"""Two residents with everything the API shows, for the resource, scoping and schemathesis tests:
A (``MINE``) with two 户号, one prepaid with a WeChat payment and its refund, one owing an issued
bill; B (``THEIRS``) with a 户号 next to A's that has a bill, an online payment with a refund and a
counter receipt, and a held bill; a 户号 nobody bound.  Payments go through the WeChat Pay sandbox
and the notify callback of the live app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import select

from billing import bills, ledger, payment_history
from billing.db import read_session, unit_of_work
from billing.ledger import Posting
from billing.residents import Binding, Resident, WeChatIdentity
from billing.staff import add_staff
from payments import counter, refunds
from payments.checkout import Limits
from payments.orders import ChannelPayment
from payments.refunds import Refund
from payments.sync import submit_refund, sync
from tests import factories
from tests.payment_helpers import Phone, acknowledged, start_payment

MINE, THEIRS = "13800000001", "13800000002"
HOME, OWING, NEIGHBOUR, NOBODYS = "3301000001", "3301000002", "3301000003", "3301000004"
MINI_OPENID = "o-mini-resident-a"


@dataclass(frozen=True)
class World:
    """What A may see, and what belongs to B (or nobody) that A must never see."""

    my_bills: list[int]
    my_orders: list[str]
    their_bills: list[int]
    their_orders: list[str]  # B's online order and B's counter receipt number
    my_receipts: list[int]  # ledger receipts (transfer ids) of A's home 户号: a payment and a refund
    their_receipts: list[int]  # B's: the counter's, the online payment's and the refund's


def _bill(db, account, clock, total_fen: int, hold: bool = False) -> int:
    draft = bills.Draft(account.id, date(2026, 10, 1), date(2026, 10, 31), date(2026, 12, 15),
                        (bills.Line("energy", "bill.line.energy", total_fen, total_fen * 10, 100_000),))  # 1 元/kWh
    return bills.create(db, draft, now=clock(), hold=hold).id


def _paid(engine, clock, gateway, sandbox, account, amount_fen: int) -> str:
    wechat = Phone("wechat", sandbox)
    placed = start_payment(engine, gateway, account, amount_fen, clock)
    txn = wechat.pay(placed, "phone")
    assert acknowledged("wechat", wechat.deliver(wechat.notification(placed.out_trade_no, txn)))
    return placed.out_trade_no


def _refund(engine, clock, gateways, wechat_sandbox, out_trade_no: str, staff: tuple[int, int], amount_fen: int):
    """Asked by one finance clerk, approved by another, sent to WeChat Pay and confirmed."""
    with unit_of_work(engine) as db:
        payment = db.exec(select(ChannelPayment).where(ChannelPayment.out_trade_no == out_trade_no)).one()
        refund = refunds.request(db, staff_id=staff[0], payment=payment, amount_fen=amount_fen, reason="overpayment",
                                 note="多缴退回", now=clock())
    with unit_of_work(engine) as db:
        refunds.decide(db, db.get(Refund, refund.id), staff_id=staff[1], approve=True, now=clock())
    submit_refund(engine, gateways, refund.refund_no, now=clock())
    assert wechat_sandbox.wait_idle(10)
    sync(engine, gateways, now=clock(), older_than=timedelta(0))


def build(engine, clock, gateways, wechat_sandbox) -> World:
    with unit_of_work(engine) as db:
        home = factories.account(db, at=clock(), account_no=HOME, regime="prepaid", holder_name="王大明")
        owing = factories.account(db, at=clock(), account_no=OWING)
        neighbour = factories.account(db, at=clock(), account_no=NEIGHBOUR, holder_name="赵小兰")
        factories.account(db, at=clock(), account_no=NOBODYS)
        me = factories.resident(db, MINE, at=clock(), accounts=(home, owing))
        factories.resident(db, THEIRS, at=clock(), accounts=(neighbour,))
        db.exec(select(Binding).where(Binding.resident_id == me.id, Binding.account_id == home.id)).one().label = "家"
        db.add(WeChatIdentity(app="mini", openid=MINI_OPENID, resident_id=me.id, created_at=clock()))
        cashier = add_staff(db, username="cashier1", name="收费员", password="demo1234", roles=["cashier"]).id
        finance = tuple(add_staff(db, username=f"finance{n}", name="财务", password="demo1234", roles=["finance"]).id
                        for n in (1, 2))
        my_bills = [_bill(db, owing, clock, 12_345)]
        their_bills = [_bill(db, neighbour, clock, 6_789), _bill(db, neighbour, clock, 4_321, hold=True)]
        ledger.post(db, Posting("opening:owing", ledger.customer_code(OWING), "equity:opening", 500, "opening"),
                    at=clock())
        receipt = counter.take_payment(db, cashier_id=cashier, method="cash", rows=[(NEIGHBOUR, "20.00")],
                                       limits=Limits(), now=clock(), receipt_no=counter.new_receipt_no(clock()))
    mine = _paid(engine, clock, gateways["wechat"], wechat_sandbox, home, 10_000)
    theirs = _paid(engine, clock, gateways["wechat"], wechat_sandbox, neighbour, 8_000)
    _refund(engine, clock, gateways, wechat_sandbox, mine, finance, 3_000)
    _refund(engine, clock, gateways, wechat_sandbox, theirs, finance, 1_000)
    return World(my_bills, [mine], their_bills, [theirs, receipt.out_trade_no], _receipts(engine, home),
                 _receipts(engine, neighbour))


def _receipts(engine, account) -> list[int]:
    with read_session(engine) as db:
        return [entry.transfer_id for entry in payment_history.payment_history(db, account.id)]


def resident_id(engine, phone: str) -> int:
    with read_session(engine) as db:
        return db.exec(select(Resident.id).where(Resident.phone == phone)).one()
