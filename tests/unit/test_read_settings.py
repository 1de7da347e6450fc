"""The read thresholds from settings: out of range stops startup naming the setting; in range they
reach ``ReadRules``."""

import pytest

from billing.read_rules import ReadRules
from portal.config import load_settings
from portal.errors import ConfigError


def test_the_thresholds_come_from_the_settings(tmp_path):
    settings = load_settings({"DIANFEI_INSTANCE_PATH": str(tmp_path), "DIANFEI_READ_ZERO_DAYS": "7",
                              "DIANFEI_LOSS_HIGH_PERCENT": "12"})
    assert settings.read_rules == ReadRules(zero_days=7, loss_high_percent=12)
    assert load_settings({"DIANFEI_INSTANCE_PATH": str(tmp_path)}).read_rules == ReadRules()


def test_a_threshold_out_of_range_stops_startup_naming_it(tmp_path):
    with pytest.raises(ConfigError) as stopped:
        load_settings({"DIANFEI_INSTANCE_PATH": str(tmp_path), "DIANFEI_READ_LOW_PERCENT": "150",
                       "DIANFEI_READ_REGISTER_DIGITS": "3", "DIANFEI_READ_GAP_DAYS": "often"})
    assert str(stopped.value).splitlines() == [
        "DIANFEI_READ_REGISTER_DIGITS: expected a whole number from 4 to 9, got 3",
        "DIANFEI_READ_GAP_DAYS: expected a whole number, got 'often'",
        "DIANFEI_READ_LOW_PERCENT: expected a whole number from 1 to 99, got 150",
    ]
