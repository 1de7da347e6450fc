"""Tariff files: every shipped file loads; a bad file is refused naming the file and the key."""

from datetime import date
from pathlib import Path

import pytest

from billing.tariff_files import (
    TARIFF_FOLDER, TariffFileInvalid, TariffNotFound, find_tariff, load_tariff, load_tariffs, power_factor_tables,
)

GOOD = """\
id = "test-residential"
name = "测试 居民 年阶梯"
category = "residential"
kind = "tiered"
tier_period = "annual"

[[versions]]
effective_from = 2025-01-01
effective_to = 2026-11-15

[[versions.tiers]]
from_kwh = 0
to_kwh = 2760
price = "0.538"
peak = "0.568"
valley = "0.288"

[[versions.tiers]]
from_kwh = 2760
to_kwh = 4800
price = "0.588"
peak = "0.618"
valley = "0.338"

[[versions.tiers]]
from_kwh = 4800
price = "0.838"
peak = "0.868"
valley = "0.588"

[[versions]]
effective_from = 2026-11-16

[[versions.tiers]]
from_kwh = 0
to_kwh = 2760
price = "0.600"

[[versions.tiers]]
from_kwh = 2760
to_kwh = 4800
price = "0.650"

[[versions.tiers]]
from_kwh = 4800
price = "0.900"
"""

INDUSTRY = """\
id = "test-industry"
name = "测试 两部制"
category = "large_industry"
kind = "two_part"

[[versions]]
effective_from = 2025-01-01
basic_capacity = "30"
power_factor_standard = "0.90"

[versions.prices]
peak = "0.8707"
valley = "0.3063"
"""


def write(folder: Path, text: str, name: str = "test-residential") -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_shipped_tariff_loads():
    tariffs = load_tariffs()
    assert set(tariffs) == {path.stem for path in TARIFF_FOLDER.glob("*.toml")}
    assert {tariff.kind for tariff in tariffs.values()} == {"tiered", "single", "tou", "two_part"}
    assert {tariffs[name].tier_period for name in ("zj-residential", "ah-residential")} == {"annual", "monthly"}


def test_zhejiang_residential_is_the_published_table():
    tiers = find_tariff("zj-residential").version_on(date(2026, 11, 1)).tiers
    assert [(tier.from_wh, tier.to_wh, tier.price, tier.tou) for tier in tiers] == [
        (0, 2_760_000, 53_800, {"peak": 56_800, "valley": 28_800}),
        (2_760_000, 4_800_000, 58_800, {"peak": 61_800, "valley": 33_800}),
        (4_800_000, None, 83_800, {"peak": 86_800, "valley": 58_800}),
    ]


def test_versions_follow_each_other(tmp_path):
    tariff = load_tariff(write(tmp_path, GOOD))
    assert tariff.version_on(date(2026, 11, 15)).tiers[0].price == 53_800
    assert tariff.version_on(date(2026, 11, 16)).tiers[0].price == 60_000
    assert tariff.version_on(date(2024, 12, 31)) is None


def test_an_unknown_id_names_the_known_ones():
    with pytest.raises(TariffNotFound) as error:
        find_tariff("zj-residentail")
    assert "zj-residential" in str(error.value) and error.value.field == "tariff"


# Each bad file: (what to replace in GOOD, with what, the key named, words of the message)
BAD = {
    "overlapping tiers": ('from_kwh = 2760\nto_kwh = 4800\nprice = "0.588"', 'from_kwh = 2700\nto_kwh = 4800\nprice = "0.588"',
                          "versions[0].tiers[1].from_kwh", "overlaps the tier before"),
    "a gap between tiers": ('from_kwh = 4800\nprice = "0.838"', 'from_kwh = 4900\nprice = "0.838"',
                            "versions[0].tiers[2].from_kwh", "leaves a gap"),
    "a gap between versions": ("effective_from = 2026-11-16", "effective_from = 2026-12-01",
                               "versions[1].effective_from", "no version covers 2026-11-16..2026-11-30"),
    "overlapping versions": ("effective_from = 2026-11-16", "effective_from = 2026-11-10",
                             "versions[1].effective_from", "overlaps versions[0]"),
    "an open version before another": ("effective_to = 2026-11-15\n", "",
                                       "versions[0].effective_to", "only the last version is open-ended"),
    "a negative price": ('price = "0.538"', 'price = "-0.538"', "versions[0].tiers[0].price", "negative price"),
    "a float price": ('price = "0.538"', "price = 0.538", "versions[0].tiers[0].price", "as a string"),
    "too many decimals": ('price = "0.538"', 'price = "0.5380001"', "versions[0].tiers[0].price", "at most 5 decimals"),
    "an unknown key at the top": ('kind = "tiered"', 'kind = "tiered"\nprovince = "浙江"', "province", "unknown key"),
    "an unknown key in a tier": ('price = "0.600"', 'pirce = "0.600"', "versions[1].tiers[0].pirce", "unknown key"),
    "an unknown key in a version": ("effective_from = 2026-11-16", "effective_from = 2026-11-16\nprice = \"0.6\"",
                                    "versions[1].price", "unknown key"),
    "an id that is not the file name": ('id = "test-residential"', 'id = "zj-residential"', "id", "file's name"),
    "an unknown kind": ('kind = "tiered"', 'kind = "stepped"', "kind", "not one of"),
    "an unknown category": ('category = "residential"', 'category = "farm"', "category", "not one of"),
    "a middle tier without a ceiling": ('to_kwh = 4800\nprice = "0.650"', 'price = "0.650"',
                                        "versions[1].tiers[1].to_kwh", "only the last tier is open-ended"),
    "a capped last tier": ('from_kwh = 4800\nprice = "0.900"', 'from_kwh = 4800\nto_kwh = 9000\nprice = "0.900"',
                           "versions[1].tiers[2].to_kwh", "must be open-ended"),
    "峰谷 on some tiers only": ('price = "0.838"\npeak = "0.868"\nvalley = "0.588"', 'price = "0.838"',
                               "versions[0].tiers[2].peak", "every tier or on none"),
    "a markup that differs by bucket": ('valley = "0.338"', 'valley = "0.348"', "versions[0].tiers[1].valley",
                                        "markup must be the same"),
    "a date as a string": ("effective_from = 2025-01-01", 'effective_from = "2025-01-01"',
                           "versions[0].effective_from", "must be a date"),
    "an end before the start": ("effective_to = 2026-11-15", "effective_to = 2024-11-15",
                                "versions[0].effective_to", "before effective_from"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_a_bad_file_names_the_file_and_the_key(tmp_path, case):
    old, new, key, words = BAD[case]
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(TariffFileInvalid) as error:
        load_tariff(path)
    assert error.value.key == key and error.value.file == path
    assert str(error.value).startswith(f"test-residential.toml: {key}: ") and words in str(error.value)


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [('basic_capacity = "30"\n', "", "versions[0].basic_capacity", "basic_capacity or basic_demand"),
     ('power_factor_standard = "0.90"', 'power_factor_standard = "0.95"', "versions[0].power_factor_standard", "no table"),
     ('power_factor_standard = "0.90"\n', "", "versions[0].power_factor_standard", "missing"),
     ('valley = "0.3063"', 'dusk = "0.3063"', "versions[0].prices.dusk", "unknown key"),
     ('peak = "0.8707"\n', "", "versions[0].prices", "at least two")],
)
def test_a_bad_two_part_file(tmp_path, old, new, key, words):
    assert old in INDUSTRY
    path = write(tmp_path, INDUSTRY.replace(old, new), "test-industry")
    with pytest.raises(TariffFileInvalid) as error:
        load_tariff(path)
    assert error.value.key == key and words in str(error.value)


def test_broken_toml_names_the_file(tmp_path):
    path = write(tmp_path, GOOD.replace("[[versions]]", "[[versions]", 1))
    with pytest.raises(TariffFileInvalid, match=r"^test-residential.toml: not valid TOML"):
        load_tariff(path)


def test_one_bad_file_refuses_the_folder(tmp_path):
    write(tmp_path, INDUSTRY, "test-industry")
    write(tmp_path, GOOD.replace('price = "0.900"', 'price = "-1"'))
    with pytest.raises(TariffFileInvalid, match="test-residential.toml: versions.1..tiers.2..price: negative"):
        load_tariffs(tmp_path)


# The published 功率因数调整电费表: (standard, power factor, adjustment in hundredths of a percent)
@pytest.mark.parametrize(
    ("standard", "power_factor", "hundredths"),
    [(90, 100, -75), (90, 95, -75), (90, 94, -60), (90, 92, -30), (90, 91, -15), (90, 90, 0), (90, 89, 50),
     (90, 85, 250), (90, 80, 500), (90, 70, 1000), (90, 69, 1100), (90, 65, 1500), (90, 64, 1700), (90, 60, 2500),
     (85, 100, -110), (85, 94, -110), (85, 93, -95), (85, 91, -65), (85, 90, -50), (85, 88, -30), (85, 86, -10),
     (85, 85, 0), (85, 84, 50), (85, 65, 1000), (85, 64, 1100), (85, 60, 1500), (85, 59, 1700),
     (80, 100, -130), (80, 92, -130), (80, 91, -115), (80, 90, -100), (80, 85, -50), (80, 80, 0), (80, 79, 50),
     (80, 60, 1000), (80, 59, 1100), (80, 55, 1500), (80, 54, 1700)],
)
def test_power_factor_table(standard, power_factor, hundredths):
    assert power_factor_tables()[standard][power_factor] == hundredths


def test_the_power_factor_table_covers_every_step():
    for rows in power_factor_tables().values():
        assert sorted(rows) == list(range(101))


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [('{ from = "0.94", to = "0.91"', '{ from = "0.93", to = "0.91"', "standards[0].segments[1].from"),
     ('{ from = "0.64", to = "0.00", percent = "17", step = "2" },\n]\n\n[[standards]]\n# 以0.85',
      ']\n\n[[standards]]\n# 以0.85', "standards[0].segments"),
     ('percent = "-0.75"', 'percent = "-0.755"', "standards[0].segments[0].percent")],
)
def test_a_bad_power_factor_table_names_the_segment(tmp_path, old, new, key):
    text = (TARIFF_FOLDER / "tables" / "power_factor.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "power_factor.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(TariffFileInvalid) as error:
        power_factor_tables(path)
    assert error.value.key == key
