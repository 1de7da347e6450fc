"""The resident's home page and its API twin under load, beside a hello-world Flask app.

gunicorn with 2 workers serves the portal on SQLite holding the demo county (bills, payments,
reminders); a load generator on loopback asks for a logged-in resident's home page (two 户号) and
the same figures from the mini-program API.  Baseline, measured in the same run under the same
gunicorn settings: a Flask app whose one route returns "hello, world" (bench/hello_app.py).
Last, the usage chart's data for a year of daily reads, timed in-process.

    python bench/portal.py            # 20,000 requests per target, a 400-户号 county
    python bench/portal.py --quick    # 4,000 requests per target, a 100-户号 county

Both servers run at once and the targets take turns, three rounds; each target's best round counts
(the 2 cores are shared with the load generator and the machine's neighbours, so single runs wander).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from flask.sessions import SecureCookieSessionInterface  # noqa: E402
from sqlmodel import select  # noqa: E402

from bench import loadgen, server  # noqa: E402
from billing import logins, usage  # noqa: E402
from billing.accounts import Account  # noqa: E402
from billing.clock import beijing_date  # noqa: E402
from billing.db import make_engine, read_session, unit_of_work  # noqa: E402
from billing.residents import Resident, bound_accounts  # noqa: E402
from demo.county import FIRST_LOGIN  # noqa: E402
from payments.sandbox.server import free_port  # noqa: E402

SECRET = "bench-portal-" + "s" * 40
GOALS = {"requests_per_second": 1000, "ratio": 0.3, "p99_ms": 50, "usage_ms": 20}


def load_county(folder: Path, accounts: int) -> dict[str, str]:
    """The demo county with its bills, through the real CLI; returns the environment that serves it."""
    env = {"DATABASE_URL": f"sqlite:///{folder / 'dianfei.sqlite3'}", "DIANFEI_INSTANCE_PATH": str(folder / "instance"),
           "DIANFEI_SECRET_KEY": SECRET, "DIANFEI_PAYMENTS_SANDBOX": "true", "DIANFEI_SMS_SANDBOX": "true"}
    dianfei = str(Path(sys.executable).parent / "dianfei")
    subprocess.run([dianfei, "db", "upgrade"], env={**os.environ, **env}, check=True, capture_output=True)
    subprocess.run([dianfei, "demo", "load", "--accounts", str(accounts)], env={**os.environ, **env}, check=True,
                   capture_output=True)
    return env


def credentials(url: str) -> tuple[str, str, str]:
    """(session cookie, API bearer token, one 户号) for the demo's first resident."""
    engine = make_engine(url)
    now = datetime.now(UTC)
    with unit_of_work(engine) as db:
        resident = db.exec(select(Resident).where(Resident.phone == FIRST_LOGIN)).one()
        account_no = bound_accounts(db, resident.id)[0].account_no
        web = logins.start(db, logins.RESIDENT, resident.id, now=now)
        api = logins.start(db, logins.API, resident.id, now=now)
    engine.dispose()
    signer = Flask("bench")
    signer.secret_key = SECRET
    # as a browser holds it after its first page: the login and the form token (flask_wtf's raw one)
    cookie = SecureCookieSessionInterface().get_signing_serializer(signer).dumps(
        {"login": web, "csrf_token": secrets.token_hex(20)})
    return cookie, api, account_no


def usage_year_ms(url: str, account_no: str, repeats: int = 30) -> float:
    """The median time to compute a year of daily usage for one 户号 (the chart's data), in ms."""
    engine = make_engine(url)
    with read_session(engine) as db:
        account = db.exec(select(Account).where(Account.account_no == account_no)).one()
        until = beijing_date(datetime.now(UTC))
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            usage.daily_usage(db, account.id, on=until, days=365)
            times.append((time.perf_counter() - started) * 1000)
    engine.dispose()
    return statistics.median(times)


def measure(port: int, request: loadgen.Request, count: int, connections: int) -> loadgen.Result:
    loadgen.run("127.0.0.1", port, [request] * min(500, count), connections=connections)  # warm up
    result = loadgen.run("127.0.0.1", port, [request] * count, connections=connections)
    if set(result.statuses) != {200}:
        raise SystemExit(f"{request.path}: unexpected answers {result.statuses}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4,000 requests per target and a 100-户号 county")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4, help="per load-generator process (2 processes)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; each target's best counts")
    args = parser.parse_args()
    count, accounts = (4_000, 100) if args.quick else (20_000, 400)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = load_county(folder, accounts)
        cookie, token, account_no = credentials(env["DATABASE_URL"])
        hello_port, portal_port = free_port(), free_port()
        targets = {
            "home page": (portal_port, loadgen.Request("GET", "/", {"Cookie": f"session={cookie}"})),
            "API twin": (portal_port, loadgen.Request("GET", "/api/v1/home", {"Authorization": f"Bearer {token}"})),
            "hello-world": (hello_port, loadgen.Request("GET", "/hello", {})),
        }
        servers = [server.serve("bench.hello_app:app", {}, hello_port, workers=args.workers, ready_path="/hello")]
        try:
            servers.append(server.serve("wsgi:app", {**env, "DIANFEI_PUBLIC_URL": f"http://127.0.0.1:{portal_port}"},
                                        portal_port, workers=args.workers))
            runs = {name: [] for name in targets}
            for _ in range(args.rounds):  # interleaved: a noisy moment on the shared cores hits every target alike
                for name, (port, request) in targets.items():
                    runs[name].append(measure(port, request, count, args.connections))
        finally:
            for running in servers:
                server.stop(running)
        chart_ms = usage_year_ms(env["DATABASE_URL"], account_no)
    report(args, count, accounts, runs, chart_ms)


def report(args, count: int, accounts: int, runs: dict[str, list[loadgen.Result]], chart_ms: float) -> None:
    best = {name: max(results, key=lambda r: r.per_second) for name, results in runs.items()}
    page, twin, baseline = best["home page"], best["API twin"], best["hello-world"]

    def line(name: str) -> str:
        result, rates = best[name], sorted(r.per_second for r in runs[name])
        ratio = "  (baseline)" if name == "hello-world" else f"  ({result.per_second / baseline.per_second:.2f} of hello-world)"
        return (f"{name:<14}{result.per_second:>8,.0f} requests/s, p50 {result.percentile_ms(0.5):.1f} ms, "
                f"p99 {result.percentile_ms(0.99):.1f} ms (rounds {rates[0]:,.0f}-{rates[-1]:,.0f})" + ratio)

    print(f"gunicorn {args.workers} workers, SQLite, {accounts}-户号 demo county, {count:,} requests per target, "
          f"best of {args.rounds} interleaved rounds")
    for name in runs:
        print(line(name))
    print(f"usage chart:  a year of daily reads in {chart_ms:.1f} ms (median of 30; goal < {GOALS['usage_ms']} ms)")
    slower = min(page, twin, key=lambda r: r.per_second)
    print(json.dumps({
        "bench": "portal", "value": round(slower.per_second), "unit": "requests/s",
        "baseline": round(baseline.per_second), "baseline_unit": "requests/s (hello-world)",
        "ratio": round(slower.per_second / baseline.per_second, 2),
        "p99_ms": round(max(page.percentile_ms(0.99), twin.percentile_ms(0.99)), 1),
        "home_per_s": round(page.per_second), "api_per_s": round(twin.per_second),
        "usage_year_ms": round(chart_ms, 2), "n": count, "rounds": args.rounds, "db": "sqlite",
    }))


if __name__ == "__main__":
    main()
