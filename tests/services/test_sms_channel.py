"""The SMS channel through the real Tencent Cloud SDK, over HTTP, against the simulator (which checks
every request's TC3 signature): grouping into batch requests, each kind of refusal and outage
recorded with its reason and retry decision (never raised, the batch goes on), bad input caught
before the provider, and delivery reports pulled into the delivery log through dispatch."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlmodel import select

from billing.db import read_session, unit_of_work
from notifications.channels.base import FAILED, SENT, Outgoing
from notifications.channels.sms import SmsChannel, SmsConfig
from notifications.dispatch import dispatch
from notifications.intake import take_events
from notifications.receipts import collect_receipts
from notifications.records import Message
from notifications.sms_sandbox import provider as sandbox
from notifications.sms_sandbox.registry import SANDBOX_SMS, sandbox_provider, template_ids
from payments.sandbox.server import LoopbackServer, free_port
from tests import factories
from tests.bill_helpers import issue_bill
from tests.threads import Threads

PARAMS = {"account_no": "3300000001", "amount": "50.00", "due_date": "2026-12-17"}


@pytest.fixture
def provider():
    simulator = sandbox_provider()
    server = LoopbackServer(simulator).start()
    simulator.url = server.url
    yield simulator
    server.stop()


def _channel(provider, **changes) -> SmsChannel:
    config = SmsConfig(secret_id=SANDBOX_SMS["SMS_SECRET_ID"], secret_key=SANDBOX_SMS["SMS_SECRET_KEY"],
                       app_id=SANDBOX_SMS["SMS_APP_ID"], sign_name=SANDBOX_SMS["SMS_SIGN_NAME"],
                       templates=template_ids(), endpoint=provider.url, timeout_seconds=5, workers=4)
    return SmsChannel(replace(config, **changes))


def _message(n: int, phone: str | None = None, *, kind: str = "due_soon", lang: str = "zh", **params) -> Outgoing:
    return Outgoing(n, phone or f"139{n:08d}", kind, lang, PARAMS | params, "")


def test_each_message_goes_out_signed_with_its_template_parameters_in_order(provider):
    outcomes = _channel(provider).send([_message(1, amount="12.30"), _message(2, lang="en")])
    assert [o.status for o in outcomes] == [SENT, SENT]
    assert outcomes[0].provider_ref != outcomes[1].provider_ref and outcomes[0].provider_ref.startswith("2433:")
    first, second = sorted(provider.sent, key=lambda sent: sent["number"])
    assert (first["number"], first["template"]) == ("+8613900000001", template_ids()["due_soon"])
    assert first["params"] == ["3300000001", "12.30", "2026-12-17"]  # 户号{account_no}电费{amount}元将于{due_date}
    assert second["template"] == template_ids()["due_soon/en"] and provider.requests == 2


def test_identical_content_shares_requests_of_up_to_200_numbers(provider):
    batch = [_message(n) for n in range(250)] + [_message(250, "13900000201"), _message(251, account_no="3300000002")]
    outcomes = _channel(provider).send(batch)
    assert {o.status for o in outcomes} == {SENT} and len({o.provider_ref for o in outcomes}) == 252
    # 250 numbers: 200 + 50; a number already in both waits for a third; other content: its own
    assert provider.requests == 4 and len(provider.sent) == 252


def test_a_wrong_secret_is_refused_as_auth_failure_and_recorded_not_raised(provider):
    outcomes = _channel(provider, secret_key="not-the-key").send([_message(1), _message(2)])
    assert {(o.status, o.retry) for o in outcomes} == {(FAILED, True)}
    assert outcomes[0].error.startswith("AuthFailure.SignatureFailure") and provider.sent == []


@pytest.mark.parametrize("code, retry", [(sandbox.THROTTLED, True), (sandbox.NUMBER_DAILY_CAP, True),
                                         (sandbox.INVALID_NUMBER, False)])
def test_a_number_refused_fails_alone_and_the_batch_goes_on(provider, code, retry):
    provider.refuse("13900000001", code)
    refused, fine = _channel(provider).send([_message(1), _message(2)])
    assert (refused.status, refused.retry, refused.error.split(":")[0]) == (FAILED, retry, code)
    assert fine.status == SENT


def test_the_apps_daily_cap_fails_what_is_over_it_for_tomorrow(provider):
    provider.daily_cap = 1
    first, second = _channel(provider).send([_message(1, account_no="3300000001"),
                                             _message(2, account_no="3300000002")])
    assert {first.status, second.status} == {SENT, FAILED}
    failed = first if first.status == FAILED else second
    assert failed.retry and failed.error.startswith(sandbox.APP_DAILY_CAP)


def test_a_template_not_approved_fails_for_good(provider):
    provider.unapprove(template_ids()["due_soon"])
    withdrawn, other = _channel(provider).send([_message(1), _message(2, kind="login_code", code="123456")])
    assert (withdrawn.status, withdrawn.retry) == (FAILED, False)
    assert withdrawn.error.startswith(sandbox.TEMPLATE_UNAPPROVED) and other.status == SENT


@pytest.mark.parametrize("outage, code", [("internal_error", "InternalError"), ("http_502", "ServerNetworkError"),
                                          ("not_json", "JSONDecodeError")])
def test_an_outage_is_a_retryable_failure(provider, outage, code):
    provider.outage = outage
    [result] = _channel(provider).send([_message(1)])
    assert (result.status, result.retry, result.error.split(":")[0]) == (FAILED, True, code)


def test_a_provider_out_of_reach_is_a_retryable_failure(provider):
    channel = _channel(provider, endpoint="http://127.0.0.1:9", timeout_seconds=1)  # nobody listens on discard
    [result] = channel.send([_message(1)])
    assert (result.status, result.retry, result.error.split(":")[0]) == (FAILED, True, "ClientNetworkError")


def test_bad_input_fails_with_its_reason_before_the_provider_and_the_batch_goes_on(provider):
    landline, foreign, missing, fine = _channel(provider).send([
        _message(1, "02088888888"), _message(2, "+14155550100"),
        Outgoing(3, "13900000003", "due_soon", "zh", {"account_no": "3300000001"}, ""), _message(4)])
    assert (landline.status, landline.retry, landline.error) == (FAILED, False, "not a mainland mobile number")
    assert foreign.error == "not a mainland mobile number"
    assert (missing.status, missing.retry, missing.error) == (FAILED, False, "template due_soon needs parameter amount")
    assert fine.status == SENT and provider.requests == 1


def test_a_kind_without_a_template_id_fails_for_good(provider):
    ids = {key: value for key, value in template_ids().items() if not key.startswith("refund_done")}
    [result] = _channel(provider, templates=ids).send([_message(1, kind="refund_done")])
    assert (result.status, result.retry) == (FAILED, False) and "refund_done" in result.error


# The delivery log: dispatch sends through the channel, receipts come back through PullSmsSendStatus.

def _queued(engine, clock, phones: list[str]) -> None:
    for phone in phones:
        with unit_of_work(engine) as db:
            account = factories.account(db, at=clock())
            factories.resident(db, phone, at=clock(), accounts=(account,))
        issue_bill(engine, clock, account, 5000)
    assert take_events(engine, clock=clock) == len(phones)


def _log(engine) -> dict[str, Message]:
    with read_session(engine) as db:
        return {m.address: m for m in db.exec(select(Message)).all()}


def test_dispatch_sends_and_receipts_mark_delivered_or_failed(engine, clock, provider):
    _queued(engine, clock, ["13900000001", "13900000002", "13900000003"])
    provider.undeliver("13900000002", "MK:0005")
    provider.refuse("13900000003", sandbox.INVALID_NUMBER)
    channel = _channel(provider)
    done = dispatch(engine, {"sms": channel}, clock=clock)
    assert (done.sent, done.failed) == (2, 1)
    log = _log(engine)
    assert log["13900000001"].status == "sent" and log["13900000001"].provider_ref.startswith("2433:")
    assert (log["13900000003"].status, log["13900000003"].error.split(":")[0]) == ("failed", sandbox.INVALID_NUMBER)
    channel.send([_message(9)])  # sent by someone else on the same SMS app: its report is not ours
    collected = collect_receipts(engine, {"sms": channel})
    assert (collected.delivered, collected.undelivered, collected.unknown, collected.error) == (1, 1, 1, "")
    log = _log(engine)
    assert (log["13900000001"].status, log["13900000001"].receipt) == ("delivered", "SUCCESS DELIVRD")
    assert (log["13900000002"].status, log["13900000002"].receipt) == ("failed", "FAIL MK:0005")
    assert collect_receipts(engine, {"sms": channel}).delivered == 0  # nothing pulled twice


def test_an_outage_during_dispatch_keeps_messages_queued_for_a_retry(engine, clock, provider):
    _queued(engine, clock, ["13900000001"])
    provider.outage = "not_json"
    done = dispatch(engine, {"sms": _channel(provider)}, clock=clock)
    message = _log(engine)["13900000001"]
    assert done.retrying == 1 and (message.status, message.attempts) == ("queued", 1)
    assert message.error.startswith("JSONDecodeError")
    assert collect_receipts(engine, {"sms": _channel(provider)}).error.startswith("sms: JSONDecodeError")
    provider.outage = None
    clock.advance(minutes=1)
    assert dispatch(engine, {"sms": _channel(provider)}, clock=clock).sent == 1


def test_after_an_outage_the_rest_of_the_batch_is_not_sent_but_kept_for_a_retry(provider):
    provider.outage = "http_502"
    channel = _channel(provider, workers=1)
    outcomes = channel.send([_message(n, account_no=f"33{n:08d}") for n in range(5)])  # five requests
    assert provider.requests == 1 and {(o.status, o.retry) for o in outcomes} == {(FAILED, True)}
    assert outcomes[0].error.startswith("ServerNetworkError")
    assert outcomes[4].error.startswith("not sent: the provider is out (ServerNetworkError")


def test_a_batch_that_runs_out_of_time_keeps_the_rest_for_a_retry(provider):
    outcomes = _channel(provider, batch_seconds=0).send([_message(1), _message(2, account_no="3300000002")])
    assert provider.requests == 0 and [o.error for o in outcomes] == ["not sent: the batch ran out of time"] * 2


def test_concurrent_dispatchers_send_each_message_to_the_provider_once(engine, clock, provider):
    _queued(engine, clock, [f"1390000{n:04d}" for n in range(30)])
    channel, threads = _channel(provider), Threads()
    channel.batch_size = 4
    for _ in range(3):
        threads.start(lambda: dispatch(engine, {"sms": channel}, clock=clock))
    threads.join()
    assert {m.status for m in _log(engine).values()} == {"sent"}
    assert sorted(sent["number"] for sent in provider.sent) == [f"+861390000{n:04d}" for n in range(30)]


def test_the_demo_simulator_prints_what_a_handset_would_get(tmp_path):
    from portal.config import load_settings
    from portal.sandbox import start_sms_sandbox
    from portal.wiring import build_messengers

    settings = load_settings({"DIANFEI_SMS_SANDBOX": "true", "DIANFEI_SANDBOX_SMS_PORT": str(free_port()),
                              "DIANFEI_INSTANCE_PATH": str(tmp_path)})
    shown: list[str] = []
    server = start_sms_sandbox(settings, show=shown.append)
    try:
        [result] = build_messengers(settings)["sms"].send([_message(1, "13912345678", kind="login_code", code="246810")])
    finally:
        server.stop()
    assert result.status == SENT
    assert shown == [f"[SMS sandbox] 139****5678 template {template_ids()['login_code']}: 246810"]
