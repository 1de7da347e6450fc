"""``dianfei notify dispatch`` and ``dianfei notify receipts`` with Tencent Cloud SMS configured:
the settings wire the SMS channel, messages go to the simulator over HTTP and its delivery reports
come back into the delivery log."""

from __future__ import annotations

import json

from notifications.sms_sandbox.registry import SANDBOX_SMS, sandbox_provider, templates_setting
from payments.sandbox.server import LoopbackServer
from tests.web.test_cli import dianfei
from tests.web.test_notify_cli import _database_with_a_bill, _statuses


def test_configured_sms_sends_through_the_provider_and_pulls_its_reports(tmp_path):
    url, engine = _database_with_a_bill(tmp_path / "sms.sqlite3")
    provider = sandbox_provider()
    server = LoopbackServer(provider).start()
    try:
        environ = {f"DIANFEI_{name}": value for name, value in SANDBOX_SMS.items()} | {
            "DIANFEI_SMS_TEMPLATES": templates_setting(), "DIANFEI_SMS_ENDPOINT": server.url, "DATABASE_URL": url}
        sent = dianfei("notify", "dispatch", tmp_path=tmp_path, **environ)
        assert sent.returncode == 0, sent.stderr
        summary = json.loads(sent.stdout.strip().splitlines()[-1])
        assert summary["channels"][0] == "sms" and summary["sent"] >= 1 and summary["failed"] == 0
        # the login code among them (outside quiet hours the bill's reminder goes too, in either order)
        codes = [sms for sms in provider.sent if sms["params"] == ["246810"]]
        assert len(codes) == 1 and codes[0]["number"] == "+8613912345678"
        pulled = dianfei("notify", "receipts", tmp_path=tmp_path, **environ)
        assert pulled.returncode == 0, pulled.stderr
        assert json.loads(pulled.stdout) == {"delivered": summary["sent"], "undelivered": 0, "unknown": 0, "error": ""}
        assert _statuses(engine).count("delivered") == summary["sent"]
        provider.outage = "http_502"
        failed = dianfei("notify", "receipts", tmp_path=tmp_path, **environ)
        assert failed.returncode == 1 and "ServerNetworkError" in failed.stderr
    finally:
        server.stop()
