"""Settings: defaults, DIANFEI_ environment variables, overrides; production needs its secrets."""

import pytest

from portal.config import load_settings
from portal.errors import ConfigError


def test_environment_overrides_defaults_with_types(tmp_path):
    settings = load_settings(
        {"DIANFEI_PORT": "8080", "DIANFEI_DEMO_SMS": "false", "DIANFEI_INSTANCE_PATH": str(tmp_path)}
    )
    assert settings["PORT"] == 8080 and settings["DEMO_SMS"] is False
    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path / 'dianfei.sqlite3'}"
    assert len(settings["SECRET_KEY"]) == 64
    assert load_settings({"DIANFEI_INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"] == settings["SECRET_KEY"]


def test_database_url_and_overrides(tmp_path):
    environ = {"DATABASE_URL": "postgresql://db/x", "DIANFEI_INSTANCE_PATH": str(tmp_path)}
    assert load_settings(environ)["DATABASE_URL"] == "postgresql://db/x"
    assert load_settings(environ, {"DATABASE_URL": "sqlite://"})["DATABASE_URL"] == "sqlite://"


@pytest.mark.parametrize(("name", "value"), [("DIANFEI_PORT", "eighty"), ("DIANFEI_DEMO_SMS", "maybe")])
def test_malformed_values_name_the_variable(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value, "DIANFEI_INSTANCE_PATH": str(tmp_path)})


def test_production_requires_secret_and_database(tmp_path):
    with pytest.raises(ConfigError, match="DIANFEI_SECRET_KEY, DATABASE_URL"):
        load_settings({"DIANFEI_ENV": "production", "DIANFEI_INSTANCE_PATH": str(tmp_path)})
    settings = load_settings(
        {"DIANFEI_ENV": "production", "DIANFEI_SECRET_KEY": "k", "DATABASE_URL": "postgresql://db/x"}
    )
    assert settings["SECRET_KEY"] == "k"
