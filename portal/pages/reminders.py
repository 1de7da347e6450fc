"""Reminder settings: the channels (SMS, WeChat), whether optional messages (reminders, receipts)
come at all, the resident's own quiet hours for them, and each bound 户号's low-balance threshold.
Legally required notices (欠费停电通知) are sent whatever is chosen here, as the page says."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from billing import bindings
from billing.db import read_session, unit_of_work
from billing.errors import BillingError, InvalidAmount, InvalidInput
from billing.money import parse_yuan
from notifications.preferences import Reminders, reminders, save_reminders
from portal.auth import current_resident_id, resident_required
from portal.errors import status_for
from portal.i18n import error_message, gettext as _
from portal.wiring import services

blueprint = Blueprint("reminders", __name__)
SWITCHES = ("sms", "wechat", "optional")


def _page(wanted: Reminders, thresholds: dict[str, str], error: BillingError | None = None):
    with read_session(services().engine) as db:
        accounts = bindings.bindings(db, current_resident_id())
    return render_template("pages/reminders.html", wanted=wanted, accounts=accounts, thresholds=thresholds,
                           hours=range(24), error=error_message(error) if error else None,
                           error_field=error.field if error else None), status_for(error) if error else 200


@blueprint.get("/settings")
@resident_required
def form():
    with read_session(services().engine) as db:
        wanted = reminders(db, current_resident_id())
    return _page(wanted, {})


def _hour(name: str) -> int:
    text = request.form.get(name, "")
    if not text.isdigit() or len(text) > 2:
        raise InvalidInput(name, "an hour from 0 to 23")
    return int(text)


def _thresholds(accounts: list[bindings.BoundAccount]) -> dict[str, int]:
    """Each bound 户号's threshold as typed (元), in fen; a blank one is left as it is."""
    found = {}
    for account in accounts:
        text = request.form.get(f"balance_low-{account.account_no}", "").strip()
        if text:
            try:
                found[account.account_no] = parse_yuan(text, "balance_low")
            except InvalidAmount as error:
                raise InvalidInput("balance_low", error.message,
                                   maximum=bindings.MAX_BALANCE_LOW_FEN // 100) from None
    return found


@blueprint.post("/settings")
@resident_required
def save():
    resident_id = current_resident_id()
    typed = {key[len("balance_low-"):]: value[:20] for key, value in request.form.items() if key.startswith("balance_low-")}
    try:
        with unit_of_work(services().engine) as db:
            accounts = bindings.bindings(db, resident_id)
            wanted = Reminders(*(name in request.form for name in SWITCHES), _hour("quiet_from_hour"),
                               _hour("quiet_until_hour"))
            save_reminders(db, resident_id, wanted)
            for account_no, threshold in _thresholds(accounts).items():
                bindings.set_balance_low(db, resident_id, account_no, threshold)
    except BillingError as error:
        with read_session(services().engine) as db:
            shown = reminders(db, resident_id)
        return _page(shown, typed, error)
    flash(_("提醒设置已保存"), "info")
    return redirect(url_for("reminders.form"), 303)
