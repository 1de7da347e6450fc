"""Settings: defaults, then environment variables (``DIANFEI_<NAME>``, plus ``DATABASE_URL``),
then the overrides a test passes to ``create_app``.  Secrets come only from the environment or the
instance folder; in production a missing secret stops startup with one line.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path

from portal.errors import ConfigError

PREFIX = "DIANFEI_"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, object] = {
    "ENV": "development",  # development | production | test
    "INSTANCE_PATH": str(PROJECT_ROOT / "instance"),
    "SECRET_KEY": "",
    "DATABASE_URL": "",
    "DEMO_SMS": True,  # show login codes on screen instead of sending an SMS
    "DEFAULT_LANGUAGE": "zh",
    "HOST": "127.0.0.1",
    "PORT": 5000,
}
REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "DATABASE_URL")


def load_settings(environ: Mapping[str, str], overrides: Mapping[str, object] | None = None) -> dict[str, object]:
    settings = dict(DEFAULTS)
    for key, default in DEFAULTS.items():
        if PREFIX + key in environ:
            settings[key] = _coerce(PREFIX + key, environ[PREFIX + key], default)
    if environ.get("DATABASE_URL"):
        settings["DATABASE_URL"] = environ["DATABASE_URL"]
    settings.update(overrides or {})
    _fill_from_instance(settings)
    return settings


def _coerce(name: str, raw: str, default: object) -> object:
    if isinstance(default, bool):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name}: expected true or false, got {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    return raw


def _fill_from_instance(settings: dict[str, object]) -> None:
    """Development defaults live in the instance folder; production must say them explicitly."""
    if settings["ENV"] == "production":
        missing = [key for key in REQUIRED_IN_PRODUCTION if not settings[key]]
        if missing:
            names = ", ".join("DATABASE_URL" if key == "DATABASE_URL" else PREFIX + key for key in missing)
            raise ConfigError(f"{names}: required when {PREFIX}ENV=production")
        return
    instance = Path(str(settings["INSTANCE_PATH"]))
    instance.mkdir(parents=True, exist_ok=True)
    if not settings["DATABASE_URL"]:
        settings["DATABASE_URL"] = f"sqlite:///{instance / 'dianfei.sqlite3'}"
    if not settings["SECRET_KEY"]:
        key_file = instance / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        settings["SECRET_KEY"] = key_file.read_text().strip()
