"""The notification storm: 600 paid orders, each notification delivered three times in random
order by 16 concurrent senders over real HTTP, mixed with 200 forgeries of every kind.  Exactly 600
credits, nothing from the forgeries, and the ledger balances.  A callback that cannot settle within its time
budget answers "retry", and the senders retry like the channels do: every delivery ends accepted."""

import random
import threading
from collections import Counter
from datetime import timedelta

import requests
from sqlmodel import func, select

from billing import ledger
from billing.db import read_session, unit_of_work
from billing.ledger import LedgerAccount, Transfer
from payments.orders import create_order
from tests import factories

# 600 orders (2,000 until the suite went parallel) keep 16 senders busy with 2,000 deliveries: the
# copies of one order still race each other, more often than among 2,000 orders, at a third of the time.
ORDERS, COPIES, SENDERS, FORGERIES = 600, 3, 16, 200
ATTEMPTS = 5
FORGE_KINDS = {
    "wechat": ("bad_signature", "signtest", "stale_timestamp", "unknown_serial", "tampered_amount", "wrong_key",
               "unknown_order", "wrong_appid", "wrong_mchid"),
    "alipay": ("bad_signature", "wrong_key", "tampered_amount", "unknown_order", "wrong_appid", "wrong_seller"),
}


def _orders(engine, clock, gateways, sandboxes, rng):
    """``ORDERS`` accounts with one open order each, half per channel, paid at the sandbox (not yet told)."""
    with unit_of_work(engine) as db:
        district = factories.district(db)
        placed = []
        for n in range(ORDERS):
            channel = ("wechat", "alipay")[n % 2]
            account = factories.account(db, at=clock(), district_=district)
            amount = rng.randint(1, 200_000)
            order = create_order(db, channel=channel, scene="native", purpose="prepay", lines=[(account, amount)],
                                 description="电费预存", now=clock(), ttl=timedelta(minutes=30))
            placed.append((channel, order.out_trade_no, account.account_no, amount))
    paid = []
    for channel, out_trade_no, account_no, amount in placed:
        sandbox = sandboxes[channel]
        sandbox.register_order(out_trade_no, amount, gateways[channel].config.notify_url)
        txn = sandbox.pay(out_trade_no, notify=False)
        paid.append((channel, out_trade_no, txn, account_no, amount))
    return paid


def _notification(sandboxes, channel, out_trade_no, txn, forge=None):
    sandbox = sandboxes[channel]
    return sandbox.notification(txn if channel == "wechat" else out_trade_no, forge=forge)


def _send_all(deliveries):
    """Each delivery's final answer.  A retryable answer (5xx: our side was too busy to settle within
    the channel's patience) is sent again, as the channels do, up to ``ATTEMPTS`` times."""
    queue, lock, answers = [(delivery, 1) for delivery in deliveries], threading.Lock(), Counter()

    def sender():
        with requests.Session() as http:
            while True:
                with lock:
                    if not queue:
                        return
                    delivery, attempt = queue.pop()
                response = http.post(delivery.url, data=delivery.body, headers=delivery.headers, timeout=30)
                with lock:
                    if response.status_code >= 500 and attempt < ATTEMPTS:
                        queue.insert(0, (delivery, attempt + 1))
                    else:
                        answers[response.status_code] += 1

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_storm_credits_every_order_exactly_once(engine, clock, app, gateways, wechat_sandbox, alipay_sandbox):
    rng = random.Random(2026)
    sandboxes = {"wechat": wechat_sandbox, "alipay": alipay_sandbox}
    paid = _orders(engine, clock, gateways, sandboxes, rng)
    genuine = [_notification(sandboxes, channel, out, txn) for channel, out, txn, _, _ in paid] * COPIES
    forged, kinds = [], set()
    for _ in range(FORGERIES):
        channel, out, txn, _, _ = rng.choice(paid)
        kind = rng.choice(FORGE_KINDS[channel])
        kinds.add((channel, kind))
        forged.append(_notification(sandboxes, channel, out, txn, forge=kind))
    assert kinds == {(channel, kind) for channel, forge_kinds in FORGE_KINDS.items() for kind in forge_kinds}
    deliveries = genuine + forged
    rng.shuffle(deliveries)
    answers = _send_all(deliveries)
    assert sum(answers.values()) == ORDERS * COPIES + FORGERIES
    assert answers[500] == 0
    with read_session(engine) as db:
        payments = db.exec(select(func.count()).select_from(Transfer).where(Transfer.code == "payment")).one()
        assert payments == ORDERS
        balances = dict(db.exec(select(LedgerAccount.code, LedgerAccount.credits_fen - LedgerAccount.debits_fen)
                                .where(LedgerAccount.code.startswith("customer:"))).all())
        assert ledger.check_invariants(db) == []
    assert balances == {ledger.customer_code(account_no): amount for _, _, _, account_no, amount in paid}
