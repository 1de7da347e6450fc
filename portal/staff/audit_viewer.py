"""The audit-log viewer (admin, and finance reading): every staff action filtered by who, what, which
户号 and which Beijing days, a page at a time, each entry's before and after side by side."""

from __future__ import annotations

from datetime import date

from flask import render_template, request

from billing import account_story, audit_log
from billing.accounts import get_account, validate_account_no
from billing.db import read_session
from billing.errors import BillingError, InvalidInput
from payments import account_payments
from portal.i18n import error_message
from portal.staff.access import blueprint, staff_required
from portal.staff.review import whole_number
from portal.staff.roles import AUDIT_LOG
from portal.wiring import services


def _day(args, name: str) -> date | None:
    text = args.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise InvalidInput(name, "a date like 2027-01-15") from None


def _filter(db, args, people: list[tuple[int, str, str]]) -> audit_log.AuditFilter:
    """The filter the form asks for; an error naming the field when a value names nothing."""
    actor, action, account_no = (args.get(name, "").strip() for name in ("actor", "action", "account_no"))
    staff_id = next((person for person, username, _name in people if username == actor), None)
    if actor and staff_id is None:
        raise InvalidInput("actor", "no such member of staff")
    if action and action not in audit_log.actions(db):
        raise InvalidInput("audit_action", "no such action in the log")
    targets = None
    if account_no:
        account = get_account(db, validate_account_no(account_no))
        targets = account_story.account_targets(account, *account_payments.audit_targets(account))
    first, last = _day(args, "from"), _day(args, "to")
    if first and last and first > last:
        raise InvalidInput("to", "the last day comes before the first")
    return audit_log.AuditFilter(staff_id=staff_id, action=action or None, targets=targets, first=first, last=last)


@blueprint.get("/audit")
@staff_required(AUDIT_LOG)
def audit_page():
    args = {name: request.args.get(name, "")[:40] for name in ("actor", "action", "account_no", "from", "to")}
    with read_session(services().engine) as db:
        people, actions = audit_log.actors(db), audit_log.actions(db)
        try:
            wanted = _filter(db, request.args, people)
        except BillingError as error:
            return render_template("staff/audit.html", found=None, args=args, people=people, actions=actions,
                                   problem=error_message(error)), 400
        found = audit_log.entries(db, wanted, page=whole_number(request.args, "page") or 1)
    return render_template("staff/audit.html", found=found, args=args, people=people, actions=actions,
                           changes=audit_log.changes)
