"""What the web layer hands the layers below: the engine, the clock, the configured services.

Nothing below ``portal`` reads Flask's globals; views fetch these with ``services()`` and pass them
down explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy.engine import Engine

from billing.clock import Clock, system_clock
from billing.db import check_connection, make_engine


@dataclass
class Services:
    engine: Engine
    clock: Clock


def build_services(settings: dict) -> Services:
    engine = settings.get("ENGINE") or make_engine(str(settings["DATABASE_URL"]))  # tests pass their engine
    check_connection(engine)
    return Services(engine=engine, clock=settings.get("CLOCK") or system_clock)


def services() -> Services:
    return current_app.extensions["dianfei"]
