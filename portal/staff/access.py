"""Staff access: the back-office blueprint and the role check every staff view goes through."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, g, redirect, url_for

from billing.db import read_session
from billing.staff import StaffUser, staff_roles
from portal.auth import back_to_here, current_staff_id, log_out
from portal.wiring import services

blueprint = Blueprint("staff", __name__, url_prefix="/staff")


def staff_required(*roles: str):
    """Logged-in staff holding one of ``roles`` (admin holds them all)."""

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
            if roles and not (held & {*roles, "admin"}):
                abort(403)
            g.staff, g.roles = staff, held
            return view(*args, **kwargs)

        return wrapper

    return decorate
