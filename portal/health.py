"""``/healthz``: the database answers and the schema is current (one row read)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from portal.wiring import services

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    with services().engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return jsonify(status="ok", schema=revision)
