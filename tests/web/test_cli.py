"""The ``dianfei`` command as a user runs it: one-line errors, demo load refusing to clobber data."""

import os
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

import migrations
from billing.clock import FixedClock
from payments.sandbox.keys import wechat_keys
from payments.sandbox.server import free_port
from payments.sandbox.wechatpay import WeChatPaySandbox
from portal.config import DEFAULTS

DIANFEI = str(Path(sys.executable).parent / "dianfei")


def dianfei(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DIANFEI_") and k != "DATABASE_URL"}
    environ |= {"DIANFEI_INSTANCE_PATH": str(tmp_path / "instance")} | env
    return subprocess.run([DIANFEI, *args], capture_output=True, text=True, env=environ, timeout=120)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("::not a url::", "cannot parse"),
        ("mysql://localhost/x", "unsupported database"),
        ("postgresql://nobody@127.0.0.1:9/nowhere", "cannot connect"),
        ("sqlite:////no/such/folder/x.sqlite3", "cannot connect"),
    ],
)
def test_bad_database_url_is_one_line_naming_the_variable(tmp_path, url, says):
    result = dianfei("db", "upgrade", tmp_path=tmp_path, DATABASE_URL=url)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("dianfei: DATABASE_URL:") and says in result.stderr


def test_production_without_secret_is_one_line(tmp_path):
    result = dianfei("db", "upgrade", tmp_path=tmp_path, DIANFEI_ENV="production", DATABASE_URL="sqlite://")
    assert result.returncode == 1 and result.stderr.strip() == "dianfei: DIANFEI_SECRET_KEY: required when DIANFEI_ENV=production"


def test_upgrade_then_demo_load_refuses_a_second_time(tmp_path):
    assert f"revision {migrations.head()}" in dianfei("db", "upgrade", tmp_path=tmp_path).stdout
    first = dianfei("demo", "load", "--accounts", "30", tmp_path=tmp_path)
    assert first.returncode == 0 and "demo county loaded: 30 户号" in first.stdout
    again = dianfei("demo", "load", tmp_path=tmp_path)
    assert again.returncode == 1 and again.stderr.count("\n") == 1 and "--reset" in again.stderr
    kept = dianfei("demo", "load", "--if-empty", tmp_path=tmp_path)
    assert kept.returncode == 0 and "keeping it" in kept.stdout
    reset = dianfei("demo", "load", "--reset", "--accounts", "20", tmp_path=tmp_path)
    assert reset.returncode == 0 and "demo county loaded: 20 户号" in reset.stdout


def test_payments_commands_on_a_quiet_database(tmp_path):
    dianfei("db", "upgrade", tmp_path=tmp_path)
    synced = dianfei("payments", "sync", "--older-than", "0", tmp_path=tmp_path)
    assert synced.returncode == 0 and "checked 0 open orders" in synced.stdout
    assert dianfei("payments", "incidents", tmp_path=tmp_path).stdout.strip() == "0 open incidents"
    assert dianfei("payments", "refunds", tmp_path=tmp_path).stdout.strip() == "0 refunds"


def test_a_half_configured_channel_stops_startup_naming_what_is_missing(tmp_path):
    result = dianfei("payments", "sync", tmp_path=tmp_path, DIANFEI_PAYMENTS_SANDBOX="false",
                     DIANFEI_ALIPAY_APP_KEY_FILE="/no/such/key.pem")
    assert result.returncode == 1
    assert result.stderr.strip() == "dianfei: DIANFEI_ALIPAY_PUBLIC_KEY_FILE: required to offer Alipay"


@pytest.fixture
def statement_sandbox(tmp_path):
    """The WeChat Pay sandbox the command will reach, with one payment on a past day."""
    day = (datetime.now(UTC) + timedelta(hours=8)).date() - timedelta(days=2)
    clock = FixedClock(datetime.combine(day, time(4, 0), UTC))  # noon in Beijing
    sandbox = WeChatPaySandbox(wechat_keys(tmp_path / "instance" / "sandbox" / "wechatpay"), clock=clock,
                               mchid=DEFAULTS["WECHATPAY_MCHID"], appid=DEFAULTS["WECHATPAY_APPID"], auto_notify=False)
    sandbox.serve()
    sandbox.register_order("DF20261127STATEMENT0000001", 10000, "http://127.0.0.1:9/callbacks/wechatpay")
    sandbox.pay("DF20261127STATEMENT0000001", notify=False)
    clock.advance(days=2)
    yield sandbox, day
    sandbox.stop()


def test_payments_statement_prints_the_day_or_one_line_when_it_cannot(tmp_path, statement_sandbox):
    sandbox, day = statement_sandbox
    port = sandbox.url.rsplit(":", 1)[1]
    args = ("payments", "statement", "--channel", "wechat", "--date", day.isoformat())
    printed = dianfei(*args, tmp_path=tmp_path, DIANFEI_SANDBOX_WECHATPAY_PORT=port)
    assert printed.returncode == 0 and "DF20261127STATEMENT0000001\t100.00" in printed.stdout
    sandbox.corrupt_next_download()
    corrupted = dianfei(*args, tmp_path=tmp_path, DIANFEI_SANDBOX_WECHATPAY_PORT=port)
    unreachable = dianfei(*args, tmp_path=tmp_path, DIANFEI_SANDBOX_WECHATPAY_PORT=str(free_port()))
    for result, says in ((corrupted, "HASH_MISMATCH"), (unreachable, "NETWORK")):
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr and says in result.stderr
        assert result.stderr.startswith(f"Error: wechat statement for {day.isoformat()}:")
