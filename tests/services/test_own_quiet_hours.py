"""A resident's own quiet hours hold their optional messages (reminders, receipts) on top of the
company's 22:00-08:00; a required notice keeps to the company's hours only.  The settings refuse
hours out of range and quiet hours that would leave no hour of the day open."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from billing.daily_settlement import BALANCE_NEGATIVE
from billing import events
from billing.db import read_session, unit_of_work
from billing.errors import InvalidInput
from notifications.channels.console import ConsoleChannel
from notifications.dispatch import dispatch
from notifications.intake import take_events
from notifications.preferences import Reminders, reminders, save_reminders
from notifications.records import Message
from notifications.schedule import earliest_send, in_quiet_hours, open_hours
from tests import factories
from tests.bill_helpers import issue_bill

NOON = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)  # 12:00 Beijing
BEIJING_13 = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)


def _resident(engine, clock, quiet: tuple[int, int]):
    with unit_of_work(engine) as db:
        account = factories.account(db, at=clock())
        person = factories.resident(db, "13912345678", at=clock(), accounts=(account,))
        save_reminders(db, person.id, Reminders(True, True, True, *quiet))
    return account, person.id


def _messages(engine) -> list[Message]:
    with read_session(engine) as db:
        return list(db.exec(select(Message).order_by(Message.id)).all())


def test_a_reminder_waits_for_the_end_of_the_residents_own_quiet_hours(engine, clock):
    clock.now = NOON
    account, _ = _resident(engine, clock, (12, 13))  # a lunchtime nap
    issue_bill(engine, clock, account, 5000)
    take_events(engine, clock=clock)
    [message] = _messages(engine)
    assert message.due_at == BEIJING_13
    assert dispatch(engine, {"sms": ConsoleChannel()}, clock=clock).delivered == 0
    clock.now = BEIJING_13
    assert dispatch(engine, {"sms": ConsoleChannel()}, clock=clock).delivered == 1


def test_a_required_notice_ignores_the_residents_own_hours(engine, clock):
    clock.now = NOON
    account, _ = _resident(engine, clock, (12, 13))
    with unit_of_work(engine) as db:
        events.emit(db, BALANCE_NEGATIVE, at=clock(), account_id=account.id, balance_fen=-500)
    take_events(engine, clock=clock)
    [message] = _messages(engine)
    assert (message.kind, message.due_at) == ("balance_negative", NOON)
    assert dispatch(engine, {"sms": ConsoleChannel()}, clock=clock).delivered == 1


def test_hours_changed_after_queueing_hold_the_message_at_dispatch(engine, clock):
    clock.now = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # 11:00 Beijing
    account, resident = _resident(engine, clock, (22, 8))
    issue_bill(engine, clock, account, 5000)
    take_events(engine, clock=clock)
    with unit_of_work(engine) as db:
        save_reminders(db, resident, Reminders(True, True, True, 11, 14))
    done = dispatch(engine, {"sms": ConsoleChannel()}, clock=clock)
    assert (done.delivered, done.postponed) == (0, 1)
    assert _messages(engine)[0].due_at == datetime(2026, 11, 27, 6, 0, tzinfo=UTC)  # 14:00 Beijing


@pytest.mark.parametrize(("at_hour", "own", "leaves_at_hour"), [
    (12, (12, 13), 13), (23, (7, 10), 10),  # 23:00 -> the company's 08:00 -> still the resident's: 10:00
    (23, (20, 9), 9), (21, (21, 23), 8),  # the resident's 23:00 falls in the company's: 08:00
    (12, (12, 12), 12), (9, None, 9),  # equal hours: none of their own
])
def test_earliest_send_leaves_every_window(at_hour, own, leaves_at_hour):
    at = datetime(2026, 11, 27, at_hour, tzinfo=UTC).replace(hour=(at_hour - 8) % 24)  # Beijing at_hour:00
    sent = earliest_send(at, urgent=False, own=own)
    assert (sent.hour + 8) % 24 == leaves_at_hour and not in_quiet_hours(sent, own)
    assert earliest_send(at, urgent=True, own=own) == at


def test_settings_keep_defaults_and_refuse_bad_hours(engine, clock):
    _, resident = _resident(engine, clock, (22, 8))
    with read_session(engine) as db:
        assert reminders(db, resident) == Reminders(True, True, True, 22, 8)
    for bad, field in (((24, 8), "quiet_from_hour"), ((-1, 8), "quiet_from_hour"), ((8, 22), "quiet_until_hour"),
                       ((True, 8), "quiet_from_hour")):
        with pytest.raises(InvalidInput) as error, unit_of_work(engine) as db:
            save_reminders(db, resident, Reminders(False, False, False, *bad))
        assert error.value.field == field
    with read_session(engine) as db:
        assert reminders(db, resident) == Reminders(True, True, True, 22, 8)  # nothing changed
    assert open_hours((8, 21)) == [21]
