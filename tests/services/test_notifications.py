"""Events into messages and out through a channel, on both databases: recipients and preferences,
the rendered text, dedupe across reruns and concurrent dispatchers, quiet hours, retries with
backoff, a channel outage, a payload that cannot be read, and delivery receipts."""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from billing import events
from billing.daily_settlement import BALANCE_NEGATIVE
from billing.db import read_session, unit_of_work
from billing.residents import Binding
from notifications.channels.base import FAILED, SENT, Outcome
from notifications.channels.console import ConsoleChannel
from notifications.dispatch import dispatch, record_receipt
from notifications.intake import SETTLE_LAG, take_events
from notifications.records import Cursor, Message, Preference
from notifications.schedule import MAX_ATTEMPTS
from tests import factories
from tests.bill_helpers import issue_bill, new_account
from tests.threads import Threads

PHONE = "13912345678"


def _resident_account(engine, clock, phone: str = PHONE, **preference):
    with unit_of_work(engine) as db:
        account = factories.account(db, at=clock())
        person = factories.resident(db, phone, at=clock(), accounts=(account,))
        if preference:
            db.add(Preference(resident_id=person.id, **preference))
    return account


def _messages(engine) -> list[Message]:
    with read_session(engine) as db:
        return list(db.exec(select(Message).order_by(Message.id)).all())


def _console(engine, clock) -> tuple[io.StringIO, object]:
    out = io.StringIO()
    return out, dispatch(engine, {"sms": ConsoleChannel(out)}, clock=clock)


class Flaky:
    """A provider double: refuses (retryably) the first ``failures`` tries of every message."""

    name, batch_size = "flaky", 50

    def __init__(self, failures: int = 0, *, raises: bool = False) -> None:
        self.failures, self.raises, self.tries = failures, raises, {}
        self.lock = threading.Lock()

    def send(self, batch):
        with self.lock:
            for message in batch:
                self.tries[message.message_id] = self.tries.get(message.message_id, 0) + 1
        if self.raises:
            raise ConnectionError("provider unreachable")
        return [Outcome.failed("isv.BUSINESS_LIMIT_CONTROL", retry=True) if self.tries[m.message_id] <= self.failures
                else Outcome(SENT, provider_ref=f"ref-{m.message_id}") for m in batch]


def test_an_issued_bill_reaches_the_bound_resident_once(engine, clock):
    account = _resident_account(engine, clock)
    issue_bill(engine, clock, account, 12345, due=datetime(2026, 12, 17).date())
    assert take_events(engine, clock=clock) == 1
    out, done = _console(engine, clock)
    [message] = _messages(engine)
    assert (message.kind, message.address, message.status, message.attempts) == ("bill_issued", PHONE, "delivered", 1)
    assert done.delivered == 1
    assert f"户号{account.account_no}2026-10电费账单123.45元，请于2026-12-17前缴清" in out.getvalue()
    assert "139****5678" in out.getvalue() and PHONE not in out.getvalue()
    clock.advance(minutes=10)
    take_events(engine, clock=clock)
    _, again = _console(engine, clock)
    assert len(_messages(engine)) == 1 and again.delivered == 0


def test_without_a_bound_resident_the_holder_on_file_hears(engine, clock):
    account = new_account(engine, clock)
    issue_bill(engine, clock, account, 5000)
    take_events(engine, clock=clock)
    [message] = _messages(engine)
    assert (message.address, message.resident_id) == ("13700000000", None)


def test_preferences_language_and_opt_out_except_required_notices(engine, clock):
    english = _resident_account(engine, clock, "13900000001", lang="en")
    quiet = _resident_account(engine, clock, "13900000002", optional=False)
    no_sms = _resident_account(engine, clock, "13900000003", sms=False)
    for account in (english, quiet, no_sms):
        issue_bill(engine, clock, account, 5000)
        with unit_of_work(engine) as db:
            events.emit(db, BALANCE_NEGATIVE, at=clock(), account_id=account.id, balance_fen=-1234, day="2026-11-27")
    take_events(engine, clock=clock)
    sent = {(m.address, m.kind) for m in _messages(engine)}
    assert sent == {("13900000001", "bill_issued"), ("13900000001", "balance_negative"),
                    ("13900000002", "balance_negative")}
    out, _ = _console(engine, clock)
    assert f"Account {english.account_no} is 12.34 yuan in arrears" in out.getvalue()


def test_quiet_hours_hold_reminders_until_eight(engine, clock):
    clock.now = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 23:00 in Beijing
    issue_bill(engine, clock, _resident_account(engine, clock), 5000)
    take_events(engine, clock=clock)
    [message] = _messages(engine)
    assert message.due_at == datetime(2026, 11, 28, 0, 0, tzinfo=UTC)  # 08:00 Beijing
    assert _console(engine, clock)[1].delivered == 0
    clock.now = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
    assert _console(engine, clock)[1].delivered == 1


def test_a_refusing_provider_is_retried_with_backoff_then_failed(engine, clock):
    issue_bill(engine, clock, _resident_account(engine, clock), 5000)
    take_events(engine, clock=clock)
    provider = Flaky(failures=2)
    assert dispatch(engine, {"sms": provider}, clock=clock).retrying == 1
    [message] = _messages(engine)
    assert (message.status, message.attempts, message.error) == ("queued", 1, "isv.BUSINESS_LIMIT_CONTROL")
    assert message.due_at == clock() + timedelta(minutes=1)
    assert dispatch(engine, {"sms": provider}, clock=clock).retrying == 0  # not due yet
    clock.advance(minutes=1)
    dispatch(engine, {"sms": provider}, clock=clock)
    assert _messages(engine)[0].due_at == clock() + timedelta(minutes=2)
    clock.advance(minutes=2)
    assert dispatch(engine, {"sms": provider}, clock=clock).sent == 1
    [message] = _messages(engine)
    assert (message.status, message.attempts, message.provider_ref, message.error) == ("sent", 3, f"ref-{message.id}", "")
    assert record_receipt(engine, "sms", message.provider_ref, delivered=True, receipt="DELIVRD", at=clock())
    assert _messages(engine)[0].status == "delivered"
    assert not record_receipt(engine, "sms", "nobody", delivered=True, receipt="DELIVRD", at=clock())


def test_an_outage_is_recorded_and_never_raises_and_the_last_try_fails_for_good(engine, clock):
    issue_bill(engine, clock, _resident_account(engine, clock), 5000)
    take_events(engine, clock=clock)
    provider = Flaky(raises=True)
    for _ in range(MAX_ATTEMPTS):
        dispatch(engine, {"sms": provider}, clock=clock)
        clock.advance(hours=1)
    [message] = _messages(engine)
    assert (message.status, message.attempts) == (FAILED, MAX_ATTEMPTS)
    assert message.error == "ConnectionError: provider unreachable"


def test_a_payload_that_cannot_be_read_is_logged_failed_and_the_batch_goes_on(engine, clock):
    broken, fine = _resident_account(engine, clock, "13900000004"), _resident_account(engine, clock, "13900000005")
    with unit_of_work(engine) as db:
        events.emit(db, events.PAYMENT_POSTED, at=clock(), account_id=broken.id, amount_fen=100)  # no balance
    issue_bill(engine, clock, fine, 5000)
    take_events(engine, clock=clock)
    first, second = _messages(engine)
    assert (first.status, first.address) == ("failed", "13900000004") and "balance_fen" in first.error
    assert (second.status, second.address) == ("queued", "13900000005")
    assert _console(engine, clock)[1].delivered == 1


def test_the_cursor_only_passes_settled_events(engine, clock):
    issue_bill(engine, clock, _resident_account(engine, clock), 5000)
    take_events(engine, clock=clock)
    with read_session(engine) as db:
        assert db.get(Cursor, "notifications").event_id == 0  # too young: read again next time
    clock.advance(seconds=SETTLE_LAG.total_seconds() + 1)
    assert take_events(engine, clock=clock) == 1  # read again, queued nothing new
    with read_session(engine) as db:
        assert db.get(Cursor, "notifications").event_id > 0
    assert take_events(engine, clock=clock) == 0 and len(_messages(engine)) == 1


def test_concurrent_dispatchers_send_every_message_exactly_once(engine, clock):
    accounts = [_resident_account(engine, clock, f"1390000{n:04d}") for n in range(60)]
    for account in accounts:
        issue_bill(engine, clock, account, 5000)
    take_events(engine, clock=clock, batch=7)
    provider, threads = Flaky(), Threads()
    provider.batch_size = 7
    for _ in range(3):
        threads.start(lambda: dispatch(engine, {"sms": provider}, clock=clock))
    threads.join()
    messages = _messages(engine)
    assert len(messages) == 60 and {m.status for m in messages} == {"sent"}
    assert sorted(provider.tries.values()) == [1] * 60


def test_unbinding_before_the_event_is_read_means_the_holder_hears(engine, clock):
    account = _resident_account(engine, clock)
    issue_bill(engine, clock, account, 5000)
    with unit_of_work(engine) as db:
        for binding in db.exec(select(Binding).where(Binding.account_id == account.id)).all():
            db.delete(binding)
    take_events(engine, clock=clock)
    assert [m.address for m in _messages(engine)] == ["13700000000"]
    assert json.loads(_messages(engine)[0].params)["amount"] == "50.00"
