"""``dianfei reconcile``: one line per channel; not yet is an answer; bad input one line naming the option."""

from billing.clock import beijing_date
from portal.cli import cli
from tests.payment_helpers import acknowledged, booked_without_the_channel, new_account, phone, start_payment


def _reconcile(app, *args):
    return app.test_cli_runner().invoke(cli, ["reconcile", *args])


def test_reconcile_prints_one_line_per_channel(request, app, engine, clock, gateways):
    account = new_account(engine, clock)
    started = start_payment(engine, gateways["wechat"], account, 10000, clock)
    device = phone(request, "wechat")
    assert acknowledged("wechat", device.deliver(device.notification(started.out_trade_no, device.pay(started))))
    day = beijing_date(clock()).isoformat()
    early = _reconcile(app, "wechat", "--date", day)
    assert early.exit_code == 0 and early.output.startswith(f"wechat {day}: not yet: ")
    clock.advance(days=1)
    done = _reconcile(app, "all", "--date", day)
    assert done.exit_code == 0, done.output
    wechat, alipay, counter = done.output.splitlines()
    assert wechat == (f"wechat {day}: 1 lines, matched 1, channel_only 0, ledger_only 0, amount_mismatch 0, "
                      "status_mismatch 0, duplicate_payment 0, healed 0, waiting 0")
    assert alipay.startswith(f"alipay {day}: 0 lines, matched 0") and counter.startswith(f"counter {day}: 0 lines")
    assert _reconcile(app, "wechat", "--date", day).output.startswith(f"wechat {day} (rerun): 1 lines, matched 1")


def test_status_says_which_channel_days_are_closed(app, engine, clock, gateways):
    day = beijing_date(clock())
    booked_without_the_channel(engine, clock, gateways, "wechat", 700)
    clock.advance(days=1)
    assert _reconcile(app, "wechat", "--date", day.isoformat()).exit_code == 0
    status = _reconcile(app, "status", "--date", day.isoformat())
    assert status.exit_code == 0 and status.output.splitlines() == [
        f"wechat {day}: open, 1 differences, 1 open",
        f"alipay {day}: not_reconciled, 0 differences, 0 open",
        f"counter {day}: not_reconciled, 0 differences, 0 open"]


def test_bad_input_is_one_line(app, engine, clock, gateways, tmp_path):
    bad = tmp_path / "bill.csv"
    bad.write_bytes(b"not a statement\r\n")
    refused = _reconcile(app, "wechat", "--date", "2026-11-27", "--file", str(bad))
    assert refused.exit_code == 1 and "wechat 2026-11-27: refused: " in refused.output
    assert "Traceback" not in refused.output
    counter_file = _reconcile(app, "counter", "--date", "2026-11-27", "--file", str(bad))
    assert counter_file.exit_code == 2 and "'--file'" in counter_file.output
    bad_date = _reconcile(app, "wechat", "--date", "2026-13-01")
    assert bad_date.exit_code == 2 and "'--date'" in bad_date.output
