"""Staff access: the back-office blueprint and the permission check every staff view goes through
(which role holds which permission is in ``roles.py``)."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, g, redirect, url_for

from billing.db import read_session
from billing.staff import StaffUser, staff_roles
from portal.auth import back_to_here, current_staff_id, log_out
from portal.staff.roles import may
from portal.wiring import services

blueprint = Blueprint("staff", __name__, url_prefix="/staff")


def staff_required(permission: str | None = None):
    """Logged-in staff whose roles grant ``permission`` (any staff when it is None)."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            staff_id = current_staff_id()
            if staff_id is None:
                return redirect(url_for("staff.login", next=back_to_here()))
            with read_session(services().engine) as db:
                staff, held = db.get(StaffUser, staff_id), staff_roles(db, staff_id)
            if staff is None or not staff.active:
                log_out()
                return redirect(url_for("staff.login"))
            g.staff, g.roles = staff, held  # set first: the 403 page shows them their own menu
            if permission and not may(held, permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


@blueprint.app_context_processor
def permissions() -> dict:
    """``may(permission)`` in templates: show a link or a button only to staff who can use it."""
    return {"may": lambda permission: may(g.get("roles", ()), permission)}
