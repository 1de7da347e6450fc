"""A resident's reminder settings: the channels they hear on, whether they take optional messages
(reminders and receipts; legally required notices ignore it), and their own quiet hours for optional
messages, on top of the company's 22:00-08:00 for everything that is not urgent."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from billing.errors import InvalidInput
from notifications.records import Preference
from notifications.schedule import open_hours

HOURS = range(24)


@dataclass(frozen=True)
class Reminders:
    sms: bool
    wechat: bool
    optional: bool
    quiet_from_hour: int  # Beijing; equal to quiet_until_hour: no quiet hours of their own
    quiet_until_hour: int


def reminders(session: Session, resident_id: int) -> Reminders:
    """The resident's settings, or the defaults where they never saved any."""
    found = session.get(Preference, resident_id) or Preference(resident_id=resident_id)
    return Reminders(found.sms, found.wechat, found.optional, found.quiet_from_hour, found.quiet_until_hour)


def save_reminders(session: Session, resident_id: int, wanted: Reminders) -> Reminders:
    """Store the settings; an hour outside 0-23, quiet hours that leave no hour of the day open, or a
    value that is not true/false is refused, naming it."""
    for name in ("sms", "wechat", "optional"):
        if not isinstance(getattr(wanted, name), bool):
            raise InvalidInput(name, "must be true or false")
    for name in ("quiet_from_hour", "quiet_until_hour"):
        value = getattr(wanted, name)
        if isinstance(value, bool) or not isinstance(value, int) or value not in HOURS:
            raise InvalidInput(name, "an hour from 0 to 23")
    if not open_hours((wanted.quiet_from_hour, wanted.quiet_until_hour)):
        raise InvalidInput("quiet_until_hour", "the quiet hours, with the company's 22:00-08:00, leave no hour open")
    found = session.get(Preference, resident_id) or Preference(resident_id=resident_id)
    found.sms, found.wechat, found.optional = wanted.sms, wanted.wechat, wanted.optional
    found.quiet_from_hour, found.quiet_until_hour = wanted.quiet_from_hour, wanted.quiet_until_hour
    session.add(found)
    session.flush()
    return reminders(session, resident_id)
