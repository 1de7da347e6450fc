"""``/healthz``: the database answers and the schema is current (one row read).  A database that
does not answer gets 503 at once (a load balancer takes the node out), with the cause in the log."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from billing.failure_log import cause, quiet_repeats
from portal.wiring import services

blueprint = Blueprint("health", __name__)
log = quiet_repeats(logging.getLogger(__name__))


@blueprint.get("/healthz")
def healthz():
    try:
        with services().engine.connect() as connection:
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as error:
        log.warning("healthz: the database does not answer: %s", cause(error), exc_info=error)
        return jsonify(status="unavailable"), 503
    return jsonify(status="ok", schema=revision)
