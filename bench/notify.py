"""How fast does dispatch send queued SMS through Tencent Cloud's batch API?  Messages per second from
the queue, through the real SDK over HTTP, to the simulated provider, with every outcome recorded.

N queued messages are written straight into a migrated SQLite file.  Tencent can send one template
with one parameter set to 200 numbers per request, so the timed mix is identical notices in groups of
``--share`` recipients (200: the batch API at its widest); a second, smaller run sends per-person
messages (every one its own content, so its own request) and is printed beside it.  The simulator
runs in its own process, as a remote provider would, and checks every signature.

Baseline, measured in the same run against the same simulator: its own ceiling, raw SendSms requests
of the same shape, signed by a plain ``http.client`` loop on 8 connections (no SDK, no database).

    python bench/notify.py            # 100,000 messages
    python bench/notify.py --quick    # 10,000
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import migrations  # noqa: E402
from billing.clock import FixedClock  # noqa: E402
from billing.db import make_engine, read_session  # noqa: E402
from notifications.channels.sms import SmsChannel, SmsConfig  # noqa: E402
from notifications.dispatch import dispatch  # noqa: E402
from notifications.records import Message  # noqa: E402
from notifications.templates import ZH  # noqa: E402
from notifications.sms_sandbox import tc3  # noqa: E402
from notifications.sms_sandbox.provider import SERVICE, VERSION  # noqa: E402
from notifications.sms_sandbox.registry import SANDBOX_SMS, sandbox_provider, template_ids  # noqa: E402
from payments.sandbox.server import LoopbackServer, free_port  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # 10:00 in Beijing: outside quiet hours
KIND, PARAMS = "due_soon", ("account_no", "amount", "due_date")
CHUNK = 10_000
CONNECTIONS = 8


def _serve(port: int) -> None:
    LoopbackServer(sandbox_provider(), port).start()
    while True:
        time.sleep(3600)


def start_provider() -> tuple[multiprocessing.Process, str]:
    port = free_port()
    process = multiprocessing.get_context("fork").Process(target=_serve, args=(port,), daemon=True)
    process.start()
    for _ in range(200):
        try:
            _get_stats(port)
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the SMS simulator did not come up")


def _get_stats(port: int) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/sandbox/stats")
    return json.loads(connection.getresponse().read())


def queue(engine, count: int, share: int, first: int = 0) -> None:
    """``count`` due messages; every ``share`` consecutive ones carry the same content."""
    for start in range(first, first + count, CHUNK):
        rows = [_row(n, share) for n in range(start, min(start + CHUNK, first + count))]
        with engine.begin() as db:
            db.execute(insert(Message.__table__), rows)


def _row(n: int, share: int) -> dict:
    group = n // share
    params = {"account_no": f"33{group:08d}", "amount": f"{50 + group % 100}.00", "due_date": "2026-12-17"}
    return {"dedupe_key": f"bench:{n}", "kind": KIND, "channel": "sms", "address": f"139{n:08d}", "lang": ZH,
            "params": json.dumps(params), "status": "queued", "attempts": 0, "due_at": NOW, "created_at": NOW,
            "provider_ref": "", "receipt": "", "error": ""}


def timed_dispatch(engine, url: str) -> tuple[float, dict]:
    channel = SmsChannel(SmsConfig(secret_id=SANDBOX_SMS["SMS_SECRET_ID"], secret_key=SANDBOX_SMS["SMS_SECRET_KEY"],
                                   app_id=SANDBOX_SMS["SMS_APP_ID"], sign_name=SANDBOX_SMS["SMS_SIGN_NAME"],
                                   templates=template_ids(), endpoint=url))
    started = time.perf_counter()
    done = dispatch(engine, {"sms": channel}, clock=FixedClock(NOW))
    elapsed = time.perf_counter() - started
    channel.close()
    return elapsed, {"sent": done.sent, "retrying": done.retrying, "failed": done.failed, "errors": done.errors}


def ceiling(url: str, count: int, share: int) -> float:
    """Messages per second the simulator accepts from a minimal client: raw signed SendSms requests of
    ``share`` numbers each on ``CONNECTIONS`` kept-alive connections."""
    port = int(url.rsplit(":", 1)[1])
    requests = [[f"+86138{n:08d}" for n in range(start, min(start + share, count))] for start in range(0, count, share)]
    started = time.perf_counter()
    with ThreadPoolExecutor(CONNECTIONS) as pool:
        accepted = sum(pool.map(lambda part: _raw_sends(port, part), [requests[i::CONNECTIONS] for i in range(CONNECTIONS)]))
    elapsed = time.perf_counter() - started
    if accepted != count:
        raise SystemExit(f"the simulator accepted {accepted} of {count} raw messages")
    return count / elapsed


def _raw_sends(port: int, requests: list[list[str]]) -> int:
    connection, accepted = http.client.HTTPConnection("127.0.0.1", port, timeout=30), 0
    for numbers in requests:
        body = json.dumps({"PhoneNumberSet": numbers, "SmsSdkAppId": SANDBOX_SMS["SMS_APP_ID"],
                           "SignName": SANDBOX_SMS["SMS_SIGN_NAME"], "TemplateId": template_ids()[KIND],
                           "TemplateParamSet": ["3300000001", "50.00", "2026-12-17"]}).encode()
        connection.request("POST", "/", body=body, headers=_signed(f"127.0.0.1:{port}", body))
        answer = json.loads(connection.getresponse().read())["Response"]
        accepted += sum(status["Code"] == "Ok" for status in answer["SendStatusSet"])
    return accepted


def _signed(host: str, body: bytes) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Host": host, "X-TC-Action": "SendSms", "X-TC-Version": VERSION,
               "X-TC-Timestamp": str(int(time.time()))}
    return headers | {"Authorization": tc3.authorization(
        SANDBOX_SMS["SMS_SECRET_ID"], SANDBOX_SMS["SMS_SECRET_KEY"], headers=headers, body=body, service=SERVICE,
        stamp=int(headers["X-TC-Timestamp"]))}


def check(engine, count: int) -> None:
    with read_session(engine) as db:
        sent = db.execute(select(func.count()).select_from(Message).where(Message.status == "sent")).scalar_one()
    if sent != count:
        raise SystemExit(f"expected {count} messages sent, found {sent}")


def run(folder: Path, url: str, count: int, share: int, name: str) -> tuple[float, dict]:
    engine = make_engine(f"sqlite:///{folder / f'{name}.sqlite3'}")
    migrations.upgrade(engine)
    queue(engine, count, share)
    elapsed, done = timed_dispatch(engine, url)
    check(engine, count)
    engine.dispose()
    return count / elapsed, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 messages instead of 100,000")
    parser.add_argument("--share", type=int, default=200, help="recipients of each identical notice (1 to 200)")
    args = parser.parse_args()
    count = 10_000 if args.quick else 100_000
    per_person_count = count // 10
    provider, url = start_provider()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            baseline = ceiling(url, count, args.share)
            rate, done = run(Path(tmp), url, count, args.share, "shared")
            per_person_baseline = ceiling(url, per_person_count, 1)
            per_person, _ = run(Path(tmp), url, per_person_count, 1, "per_person")
    finally:
        provider.kill()
    print(f"notify:     {rate:,.0f} messages/s queued -> sent, identical notices to {args.share} numbers per "
          f"SendSms ({count:,} messages, SQLite, outcomes {done})")
    print(f"per person: {per_person:,.0f} messages/s, one SendSms each ({per_person_count:,} messages); "
          f"simulator ceiling {per_person_baseline:,.0f}/s")
    print(f"baseline:   {baseline:,.0f} messages/s, the simulator's ceiling for raw signed SendSms of "
          f"{args.share} numbers on {CONNECTIONS} connections")
    print(json.dumps({
        "bench": "notify", "value": round(rate), "unit": "messages/s", "baseline": round(baseline),
        "baseline_unit": "messages/s", "ratio": round(rate / baseline, 2), "n": count, "db": "sqlite",
        "numbers_per_request": args.share, "per_person": round(per_person),
        "per_person_baseline": round(per_person_baseline),
    }))


if __name__ == "__main__":
    main()
