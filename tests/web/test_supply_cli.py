"""``dianfei supply work|list|confirm`` as cron and staff run them: in sandbox mode the remote order
goes to the head-end simulator on its configured port; a field order is listed and confirmed in a
staff member's name; production without a head-end leaves remote orders waiting."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import migrations
from billing import supply_orders
from billing.accounts import MANUAL, Meter
from billing.db import make_engine, unit_of_work
from billing.dunning_records import ORDERED, DunningStep
from billing.staff import add_staff
from metering.sandbox import HeadEndSandbox
from portal.sandbox import SANDBOX_HEAD_END_TOKEN
from payments.sandbox.server import free_port
from tests import factories
from tests.web.test_cli import dianfei, production


def _orders(url: str) -> dict[str, int]:
    """A smart and a manual meter's cut orders, as the ladder opens them; their ids by method."""
    engine = make_engine(url)
    migrations.upgrade(engine)
    now, ids = datetime.now(UTC) - timedelta(minutes=5), {}
    with unit_of_work(engine) as db:
        add_staff(db, username="crew1", name="王师傅", password="demo1234", roles=["admin"])
        for method in ("remote", "field"):
            account = factories.account(db, at=now)
            if method == "field":
                db.get(Meter, account.meter_id).kind = MANUAL
            step = DunningStep(account_id=account.id, case_ref="bill:1", step=ORDERED, at=now)
            db.add(step)
            db.flush()
            ids[method] = supply_orders.on_step(db, step_id=step.id, step=ORDERED, account_id=account.id,
                                                case_ref="bill:1", method=method, due_at=None, now=now).id
    engine.dispose()
    return ids


def test_work_list_and_confirm_in_sandbox_mode(tmp_path):
    url = f"sqlite:///{tmp_path / 'dev.sqlite3'}"
    ids = _orders(url)
    sandbox = HeadEndSandbox(SANDBOX_HEAD_END_TOKEN).serve(free_port())
    env = {"DATABASE_URL": url, "DIANFEI_SANDBOX_HEAD_END_PORT": str(sandbox.url.rsplit(":", 1)[1])}
    try:
        result = dianfei("supply", "work", tmp_path=tmp_path, **env)
    finally:
        sandbox.stop()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"head_end": True, "sent": 1}
    assert [s.action for s in sandbox.switches.values()] == ["off"]
    listed = dianfei("supply", "list", tmp_path=tmp_path, **env)
    assert [json.loads(line)["order"] for line in listed.stdout.splitlines()] == [ids["field"]]
    confirmed = dianfei("supply", "confirm", str(ids["field"]), "--staff", "crew1", tmp_path=tmp_path, **env)
    assert json.loads(confirmed.stdout) == {"order": ids["field"], "state": "confirmed"}
    again = dianfei("supply", "confirm", str(ids["field"]), "--staff", "crew1", tmp_path=tmp_path, **env)
    assert again.returncode == 2 and "is confirmed" in again.stderr
    nobody = dianfei("supply", "confirm", str(ids["remote"]), "--staff", "nobody", tmp_path=tmp_path, **env)
    assert nobody.returncode == 2 and "no staff member 'nobody'" in nobody.stderr


def test_production_without_a_head_end_leaves_remote_orders_waiting(tmp_path):
    environ = production(tmp_path)
    _orders(environ["DATABASE_URL"])
    result = dianfei("supply", "work", tmp_path=tmp_path, **environ)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"head_end": False}
