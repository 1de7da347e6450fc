"""Jinja filters: money in yuan, masked personal data, Beijing time."""

from __future__ import annotations

from flask import Flask

from billing.clock import to_beijing
from billing.money import format_yuan
from billing.privacy import mask_name, mask_phone


def _beijing(instant, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return to_beijing(instant).strftime(pattern) if instant else ""


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(yuan=format_yuan, mask_phone=mask_phone, mask_name=mask_name, beijing=_beijing)
