"""The resident's reminder settings (``notifications.preferences``): channels, optional messages
and their own quiet hours.  PUT replaces the fields it names; the others keep their value."""

from __future__ import annotations

from dataclasses import asdict, replace

from flask import jsonify

from billing.db import read_session, unit_of_work
from notifications.preferences import Reminders, reminders, save_reminders
from portal.api import blueprint
from portal.api.calls import json_body, resident_id
from portal.wiring import services

FIELDS = tuple(Reminders.__dataclass_fields__)


@blueprint.get("/reminders")
def get_reminders():
    with read_session(services().engine) as db:
        return jsonify(asdict(reminders(db, resident_id())))


@blueprint.put("/reminders")
def put_reminders():
    data = json_body()
    with unit_of_work(services().engine) as db:
        wanted = replace(reminders(db, resident_id()), **{name: data[name] for name in FIELDS if name in data})
        return jsonify(asdict(save_reminders(db, resident_id(), wanted)))
