"""``dianfei notify dispatch`` as cron runs it: outside production the console carries the SMS; in
production, with no SMS provider wired, nothing is printed and the messages stay queued."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlmodel import select

import migrations
from billing.clock import FixedClock
from billing.db import make_engine, read_session, unit_of_work
from notifications.intake import queue_direct
from notifications.records import Message
from notifications.schedule import in_quiet_hours
from tests import factories
from tests.bill_helpers import issue_bill
from tests.web.test_cli import dianfei, production


def _database_with_a_bill(path) -> tuple[str, object]:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrations.upgrade(engine)
    clock = FixedClock(datetime.now(UTC) - timedelta(hours=1))
    with unit_of_work(engine) as db:
        account = factories.account(db, at=clock())
        factories.resident(db, "13912345678", at=clock(), accounts=(account,))
    issue_bill(engine, clock, account, 8800)
    with unit_of_work(engine) as db:  # urgent: it goes out whatever the hour of the run
        queue_direct(db, "login:test", "login_code", "13912345678", {"code": "246810"}, now=clock())
    return url, engine


def _statuses(engine) -> list[str]:
    with read_session(engine) as db:
        return [m.status for m in db.exec(select(Message)).all()]


def test_outside_production_the_console_carries_the_messages(tmp_path):
    url, engine = _database_with_a_bill(tmp_path / "dev.sqlite3")
    night = in_quiet_hours(datetime.now(UTC))  # the run uses the real clock: a reminder waits for 08:00
    result = dianfei("notify", "dispatch", tmp_path=tmp_path, DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    *printed, summary = result.stdout.strip().splitlines()
    assert "[login_code] to 139****5678: 【电费】您的登录验证码为246810" in printed[0]
    assert night or ("[bill_issued] to 139****5678:" in printed[1] and "88.00元" in printed[1])
    # The demo's channels: the console for SMS, the WeChat simulator's two apps (nobody here has an openid).
    assert json.loads(summary) == {"events_read": 1, "channels": ["sms", "wechat_mp", "wechat_oa"], "sent": 0, "delivered": 1 if night else 2,
                                   "retrying": 0, "failed": 0, "postponed": 0, "errors": {}}
    assert sorted(_statuses(engine)) == (["delivered", "queued"] if night else ["delivered", "delivered"])


def test_production_prints_nothing_and_keeps_the_message_queued(tmp_path):
    environ = production(tmp_path)
    url, engine = _database_with_a_bill(tmp_path / "prod.sqlite3")
    assert environ["DATABASE_URL"] == url
    result = dianfei("notify", "dispatch", tmp_path=tmp_path, **environ)
    assert result.returncode == 1
    assert "no message channel is configured" in result.stderr and "bill_issued" not in result.stdout
    assert _statuses(engine) == ["queued", "queued"]


def test_dunning_run_prints_its_steps_and_refuses_a_future_day(tmp_path):
    url, _ = _database_with_a_bill(tmp_path / "dev.sqlite3")
    result = dianfei("dunning", "run", tmp_path=tmp_path, DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"steps": {}, "total": 0}  # the bill is not due for 20 days
    future = dianfei("dunning", "run", "--date", "2999-01-01", tmp_path=tmp_path, DATABASE_URL=url)
    assert future.returncode == 2 and "'--date'" in future.stderr and "in the future" in future.stderr
