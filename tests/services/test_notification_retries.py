"""A channel retries a notification it could not deliver for about a day, and signs each retry when
it sends it: a genuine retry an hour late passes our 5-minute timestamp check and is credited once."""

from urllib.parse import parse_qsl

import pytest
from werkzeug.wrappers import Response

from tests.payment_helpers import acknowledged, balance, new_account, phone, start_payment


class Unreachable:
    """Our side is down for the first ``failures`` deliveries, and the clock moves on between them
    as the channel's retry schedule does (the sandboxes shrink the waits, not the timestamps)."""

    def __init__(self, app, clock, failures: int, minutes: int) -> None:
        self.app, self.clock, self.left, self.minutes = app, clock, failures, minutes

    def __call__(self, environ, start_response):
        if self.left:
            self.left -= 1
            self.clock.advance(minutes=self.minutes)
            return Response("bad gateway", 502)(environ, start_response)
        return self.app(environ, start_response)


def signed_fields(channel: str, delivery) -> dict[str, str]:
    if channel == "wechat":
        return {name: delivery.headers[f"Wechatpay-{name}"] for name in ("Timestamp", "Nonce", "Signature")}
    form = dict(parse_qsl(delivery.body.decode()))
    return {name: form[name] for name in ("notify_id", "notify_time", "sign")}


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
def test_a_retry_an_hour_late_is_signed_anew_and_credited_once(request, engine, clock, app, gateways, live, channel):
    account = new_account(engine, clock)
    started = start_payment(engine, gateways[channel], account, 2500, clock)
    device = phone(request, channel)
    delivery = device.notification(started.out_trade_no, device.pay(started))
    live.holder.target = Unreachable(app, clock, failures=3, minutes=20)
    device.sandbox.notifier.send(delivery)
    assert device.sandbox.wait_idle(20)
    log = device.sandbox.notifier.log
    assert [attempt.status for _, attempt in log[:3]] == [502] * 3
    assert len(log) == 4 and acknowledged(channel, log[-1][1])
    assert balance(engine, account) == 2500
    signed = [signed_fields(channel, sent) for sent, _ in log]
    if channel == "wechat":
        stamps = [int(fields["Timestamp"]) for fields in signed]
        assert [later - earlier for earlier, later in zip(stamps, stamps[1:])] == [20 * 60] * 3
    else:
        assert len({fields["notify_id"] for fields in signed}) == 1  # the same notification, retried
        assert len({fields["notify_time"] for fields in signed}) == 4
    assert len({fields["Signature" if channel == "wechat" else "sign"] for fields in signed}) == 4
