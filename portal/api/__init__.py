"""The mini-program's JSON API under ``/api/v1``: bearer tokens, never cookies.

Every call but the logins and the OpenAPI document carries ``Authorization: Bearer <token>``, a
login session of kind ``api`` (``billing.logins``).  A browser's cookie session is not looked at,
so another site cannot borrow one (no ambient authority), which is also why the blueprint is exempt
from the form CSRF check.  Each resource is scoped to the caller's bound 户号: anything else is a
404, never a 403, so that existence does not leak.  Errors are ``{"code", "message"[, "field"]}``
(portal/errors.py), in Chinese unless ``?lang=en`` or ``Accept-Language: en``.
"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")

from portal.api import (accounts, bindings, calls, orders, receipts, reminders, sessions, spec,  # noqa: E402,F401
                        usage)  # (routes register on import)
