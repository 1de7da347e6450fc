"""The ``dianfei`` command as a user runs it: one-line errors, demo load refusing to clobber data."""

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

import migrations
from billing.clock import FixedClock
from billing.db import make_engine
from demo.county import database_is_empty
from payments.sandbox.keys import wechat_keys
from payments.sandbox.server import free_port
from payments.sandbox.wechatpay import WeChatPaySandbox
from portal.sandbox import SANDBOX_IDS
from tests import forked_cli

DIANFEI = str(Path(sys.executable).parent / "dianfei")


def dianfei(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """The command with its arguments, in a process of its own (``tests.forked_cli``)."""
    return forked_cli.run([DIANFEI, *args], _environ(tmp_path, env))


def _environ(tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DIANFEI_") and k != "DATABASE_URL"}
    return environ | {"DIANFEI_INSTANCE_PATH": str(tmp_path / "instance")} | env


def test_the_installed_script_runs_in_a_new_interpreter(tmp_path):
    """What the rest of the suite runs forked, once as installed: the console script's own process."""
    fresh = subprocess.run([DIANFEI, "tariff", "quote", "nope", "--period", "2026-10", "--kwh", "1"],
                           capture_output=True, text=True, env=_environ(tmp_path, {}), timeout=120)
    forked = dianfei("tariff", "quote", "nope", "--period", "2026-10", "--kwh", "1", tmp_path=tmp_path)
    assert fresh.returncode == forked.returncode == 1 and "unknown tariff 'nope'" in fresh.stderr
    assert (fresh.stdout, fresh.stderr) == (forked.stdout, forked.stderr)


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


def production(tmp_path: Path) -> dict[str, str]:
    """Everything production needs, on a SQLite file."""
    return {"DIANFEI_ENV": "production", "DIANFEI_SECRET_KEY": "s" * 32, "DIANFEI_RESIDENT_LOGIN": "false",
            "DIANFEI_PUBLIC_URL": "https://dianfei.example.cn",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}"}


def test_production_without_secret_is_one_line(tmp_path):
    environ = production(tmp_path)
    del environ["DIANFEI_SECRET_KEY"]
    result = dianfei("db", "upgrade", tmp_path=tmp_path, **environ)
    assert result.returncode == 1 and result.stderr.strip() == "dianfei: DIANFEI_SECRET_KEY: required when DIANFEI_ENV=production"


def test_production_reports_every_problem_one_line_each(tmp_path):
    result = dianfei("db", "upgrade", tmp_path=tmp_path, DIANFEI_ENV="production", DIANFEI_DEMO_SMS="true",
                     DIANFEI_SECRET_KEY="short", DATABASE_URL="sqlite://")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert [line.split(":")[:2] for line in result.stderr.splitlines()] == [
        ["dianfei", " DIANFEI_SECRET_KEY"], ["dianfei", " DIANFEI_DEMO_SMS"], ["dianfei", " DIANFEI_PUBLIC_URL"],
        ["dianfei", " DIANFEI_RESIDENT_LOGIN"]]
    assert not (tmp_path / "instance").exists()


@pytest.mark.parametrize("value", ["Production", "prod"])
def test_an_unknown_environment_is_refused_not_taken_for_development(tmp_path, value):
    result = dianfei("db", "upgrade", tmp_path=tmp_path, DIANFEI_ENV=value)
    assert result.returncode == 1
    assert result.stderr == f"dianfei: DIANFEI_ENV: expected one of development, test, production, got {value!r}\n"


def test_demo_load_is_refused_in_production_and_changes_nothing(tmp_path):
    environ = production(tmp_path)
    assert dianfei("db", "upgrade", tmp_path=tmp_path, **environ).returncode == 0
    for args in ((), ("--reset",), ("--if-empty",)):
        refused = dianfei("demo", "load", "--accounts", "10", *args, tmp_path=tmp_path, **environ)
        assert refused.returncode == 1 and refused.stderr.count("\n") == 1
        assert "demo load is refused when DIANFEI_ENV=production" in refused.stderr
    assert dianfei("payments", "incidents", tmp_path=tmp_path, **environ).stdout.strip() == "0 open incidents"
    engine = make_engine(environ["DATABASE_URL"])
    try:
        assert database_is_empty(engine)
    finally:
        engine.dispose()
    # Data loaded outside production survives a refused --reset.
    development = {"DATABASE_URL": environ["DATABASE_URL"]}
    assert dianfei("demo", "load", "--accounts", "10", "--no-bills", tmp_path=tmp_path, **development).returncode == 0
    assert dianfei("demo", "load", "--reset", tmp_path=tmp_path, **environ).returncode == 1
    kept = dianfei("demo", "load", "--if-empty", tmp_path=tmp_path, **development)
    assert "keeping it" in kept.stdout


def test_upgrade_then_demo_load_refuses_a_second_time(tmp_path):
    assert f"revision {migrations.head()}" in dianfei("db", "upgrade", tmp_path=tmp_path).stdout
    first = dianfei("demo", "load", "--accounts", "30", tmp_path=tmp_path)
    assert first.returncode == 0 and "demo county loaded: 30 户号" in first.stdout
    assert re.search(r"demo bills \d{4}-\d\d\.\.\d{4}-\d\d: \d+ issued \(.*overdue \d+.*\), \d+ held in the review queue",
                     first.stdout), first.stdout
    assert re.search(r"demo 对账 \S+\.\.\S+: \d+ WeChat Pay/Alipay payments through the sandboxes, 21 statements taken in, "
                     r".*channel_only healed 2, .*duplicate_payment open 1, .*ledger_only open", first.stdout), first.stdout
    assert re.search(r"demo 催费 \S+\.\.\S+: delivered .*overdue \d+.*; \d+ cut remotely, \d+ paid and restored",
                     first.stdout), first.stdout
    again = dianfei("demo", "load", tmp_path=tmp_path)
    assert again.returncode == 1 and again.stderr.count("\n") == 1 and "--reset" in again.stderr
    kept = dianfei("demo", "load", "--if-empty", tmp_path=tmp_path)
    assert kept.returncode == 0 and "keeping it" in kept.stdout
    reset = dianfei("demo", "load", "--reset", "--accounts", "20", "--no-bills", tmp_path=tmp_path)
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
    assert result.stderr.strip() == ("dianfei: DIANFEI_ALIPAY_APP_ID, DIANFEI_ALIPAY_SELLER_ID, "
                                     "DIANFEI_ALIPAY_PUBLIC_KEY_FILE: required to offer Alipay")


def test_an_unusable_key_file_stops_startup_naming_the_setting(tmp_path):
    junk = tmp_path / "app_private_key.txt"
    junk.write_text("paste your key here\n")
    result = dianfei("payments", "sync", tmp_path=tmp_path, DIANFEI_PAYMENTS_SANDBOX="false",
                     DIANFEI_ALIPAY_APP_ID="2021004100000000", DIANFEI_ALIPAY_SELLER_ID="2088000000000002",
                     DIANFEI_ALIPAY_APP_KEY_FILE=str(junk), DIANFEI_ALIPAY_PUBLIC_KEY_FILE=str(junk))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr == (f"dianfei: DIANFEI_ALIPAY_APP_KEY_FILE: {junk} holds no readable unencrypted key; "
                             "expected an RSA private key (PEM or bare base64)\n")


def test_gunicorn_stops_with_one_line_instead_of_restarting_workers_on_a_bad_setting(tmp_path):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DIANFEI_") and k != "DATABASE_URL"}
    environ |= {"DIANFEI_INSTANCE_PATH": str(tmp_path / "instance"), "DIANFEI_ENV": "prod"}
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    result = subprocess.run([gunicorn, "--bind", "127.0.0.1:0", "wsgi:app"], capture_output=True, text=True,
                            env=environ, timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 4  # gunicorn's "App failed to load": the master stops
    assert "dianfei: DIANFEI_ENV: expected one of development, test, production, got 'prod'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def statement_sandbox(tmp_path):
    """The WeChat Pay sandbox the command will reach, with one payment on a past day."""
    day = (datetime.now(UTC) + timedelta(hours=8)).date() - timedelta(days=2)
    clock = FixedClock(datetime.combine(day, time(4, 0), UTC))  # noon in Beijing
    sandbox = WeChatPaySandbox(wechat_keys(tmp_path / "instance" / "sandbox" / "wechatpay"), clock=clock,
                               mchid=SANDBOX_IDS["WECHATPAY_MCHID"], appid=SANDBOX_IDS["WECHATPAY_APPID"], auto_notify=False)
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


def test_payments_book_fees_books_the_statement_day_once(tmp_path, statement_sandbox):
    sandbox, day = statement_sandbox
    port = sandbox.url.rsplit(":", 1)[1]
    assert dianfei("db", "upgrade", tmp_path=tmp_path).returncode == 0
    args = ("payments", "book-fees", "--channel", "wechat", "--date", day.isoformat())
    runs = [dianfei(*args, tmp_path=tmp_path, DIANFEI_SANDBOX_WECHATPAY_PORT=port) for _ in range(2)]
    for run in runs:  # 0.6 % of 100.00 元; the rerun finds the day booked and posts nothing more
        assert run.returncode == 0 and run.stdout == f"wechat {day}: fees 0.60000 booked as 0.60, rounding +0 millifen\n"
    empty = dianfei("payments", "book-fees", "--channel", "wechat", "--date", (day - timedelta(days=1)).isoformat(),
                    tmp_path=tmp_path, DIANFEI_SANDBOX_WECHATPAY_PORT=port)
    assert empty.returncode == 1 and "nothing to book" in empty.stderr and "Traceback" not in empty.stderr
