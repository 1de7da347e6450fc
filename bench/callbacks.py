"""Verified and posted payment notifications per second, through the real callback endpoint.

gunicorn with 2 workers serves the app on SQLite; a load generator on loopback posts signed,
AES-GCM encrypted WeChat Pay notifications (built by the sandbox gateway) for orders that exist.
Baseline, measured in the same run on the same server: ``GET /healthz``, a one-row-read endpoint.
Afterwards every order must be paid exactly once and the ledger must balance.

    python bench/callbacks.py            # 10,000 notifications
    python bench/callbacks.py --quick    # 2,000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import migrations  # noqa: E402
from billing.accounts import Account  # noqa: E402
from bench import loadgen, server  # noqa: E402
from billing.db import make_engine, read_session, unit_of_work  # noqa: E402
from demo.county import load_demo_county  # noqa: E402
from billing.ledger import Transfer, check_invariants  # noqa: E402
from payments.orders import create_order  # noqa: E402
from payments.sandbox.keys import wechat_keys  # noqa: E402
from payments.sandbox.server import free_port  # noqa: E402
from payments.sandbox.wechatpay import WeChatPaySandbox  # noqa: E402
from portal.sandbox import SANDBOX_IDS  # noqa: E402
from sqlmodel import func, select  # noqa: E402


def prepare(folder: Path, count: int, port: int) -> tuple[str, list[loadgen.Request]]:
    """A migrated database with ``count`` open orders, and a signed notification for each."""
    url = f"sqlite:///{folder / 'dianfei.sqlite3'}"
    engine = make_engine(url)
    migrations.upgrade(engine)
    load_demo_county(engine, accounts=100, now=datetime.now(UTC))
    sandbox = WeChatPaySandbox(wechat_keys(folder / "instance" / "sandbox" / "wechatpay"),
                               mchid=SANDBOX_IDS["WECHATPAY_MCHID"], appid=SANDBOX_IDS["WECHATPAY_APPID"], auto_notify=False)
    with unit_of_work(engine) as db:
        accounts = db.exec(select(Account)).all()
        orders = [create_order(db, channel="wechat", scene="native", purpose="prepay",
                               lines=[(accounts[n % len(accounts)], 100 + n)], description="电费预存",
                               now=datetime.now(UTC), ttl=timedelta(minutes=30)) for n in range(count)]
    requests = []
    for order in orders:
        sandbox.register_order(order.out_trade_no, order.amount_fen, f"http://127.0.0.1:{port}/callbacks/wechatpay")
        delivery = sandbox.notification(sandbox.pay(order.out_trade_no, notify=False))
        requests.append(loadgen.Request("POST", "/callbacks/wechatpay", delivery.headers, delivery.body))
    engine.dispose()
    return url, requests


def serve_portal(folder: Path, url: str, port: int, workers: int, threads: int) -> subprocess.Popen:
    env = {"DATABASE_URL": url, "DIANFEI_INSTANCE_PATH": str(folder / "instance"),
           "DIANFEI_PUBLIC_URL": f"http://127.0.0.1:{port}", "DIANFEI_PAYMENTS_SANDBOX": "true"}
    return server.serve("wsgi:app", env, port, workers=workers, threads=threads)


def check(url: str, count: int) -> None:
    engine = make_engine(url)
    with read_session(engine) as db:
        posted = db.exec(select(func.count()).select_from(Transfer).where(Transfer.code == "payment")).one()
        problems = check_invariants(db)
    if posted != count or problems:
        raise SystemExit(f"expected {count} payments posted, found {posted}; ledger problems: {problems}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 notifications instead of 10,000")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="gunicorn gthread threads per worker (keep-alive)")
    parser.add_argument("--connections", type=int, default=4, help="per load-generator process (2 processes)")
    args = parser.parse_args()
    count = 2_000 if args.quick else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        folder, port = Path(tmp), free_port()
        url, notifications = prepare(folder, count, port)
        portal = serve_portal(folder, url, port, args.workers, args.threads)
        try:
            loadgen.run("127.0.0.1", port, [loadgen.Request("GET", "/healthz", {})] * 500)  # warm up
            baseline = loadgen.run("127.0.0.1", port, [loadgen.Request("GET", "/healthz", {})] * count,
                                   connections=args.connections)
            result = loadgen.run("127.0.0.1", port, notifications, connections=args.connections)
        finally:
            server.stop(portal)
        if result.statuses != {204: count}:
            raise SystemExit(f"unexpected answers: {result.statuses}")
        check(url, count)
    print(f"notifications: {result.per_second:,.0f}/s verified and posted, p50 {result.percentile_ms(0.5):.1f} ms, "
          f"p99 {result.percentile_ms(0.99):.1f} ms ({count} notifications, gunicorn {args.workers} workers, SQLite)")
    print(f"baseline:      {baseline.per_second:,.0f}/s GET /healthz (one-row read), "
          f"p99 {baseline.percentile_ms(0.99):.1f} ms")
    print(json.dumps({
        "bench": "callbacks", "value": round(result.per_second), "unit": "notifications/s",
        "baseline": round(baseline.per_second), "baseline_unit": "requests/s",
        "ratio": round(result.per_second / baseline.per_second, 2), "p99_ms": round(result.percentile_ms(0.99), 1),
        "baseline_p99_ms": round(baseline.percentile_ms(0.99), 1), "n": count, "db": "sqlite",
    }))


if __name__ == "__main__":
    main()
