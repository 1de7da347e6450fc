"""``dianfei tariff quote`` as an operator runs it: JSON lines and total_fen; bad input is one line, exit 1."""

import json

import pytest

from tests.web.test_cli import dianfei


def quote(tmp_path, *args: str) -> dict:
    result = dianfei("tariff", "quote", *args, tmp_path=tmp_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return json.loads(result.stdout)


def test_zhejiang_tiers_quoted_as_json(tmp_path):
    shown = quote(tmp_path, "zj-residential", "--period", "2026-11", "--kwh", "500", "--ytd-kwh", "2500")
    assert (shown["tariff"], shown["start"], shown["end"]) == ("zj-residential", "2026-11-01", "2026-11-30")
    assert [(line["kind"], line["wh"], line["price_millifen_per_kwh"], line["amount_fen"]) for line in shown["lines"]] == [
        ("tier_1", 260_000, 53_800, 13_988), ("tier_2", 240_000, 58_800, 14_112)]
    assert shown["total_fen"] == 28_100 and shown["total_yuan"] == "281.00"
    assert {key: shown["lines"][1][key] for key in ("kwh", "price_yuan_per_kwh", "amount_yuan")} == {
        "kwh": "240.000", "price_yuan_per_kwh": "0.58800", "amount_yuan": "141.12"}
    assert shown["tiers"] == {"period": "annual", "used_wh": 3_000_000, "tier": 2, "left_in_tier_wh": 1_800_000,
                              "thresholds_wh": [2_760_000, 4_800_000]}
    assert not (tmp_path / "instance").exists()  # a quote needs no database


def test_peak_and_valley(tmp_path):
    shown = quote(tmp_path, "zj-residential", "--period", "2026-11", "--kwh", "500", "--peak-kwh", "300",
                  "--valley-kwh", "200", "--ytd-kwh", "2500")
    assert [(line["kind"], line["amount_fen"]) for line in shown["lines"]] == [
        ("peak", 17_040), ("valley", 5_760), ("tier_2_markup", 1_200)]
    assert shown["total_fen"] == 24_000


def test_a_move_in_prorates_and_clips(tmp_path):
    shown = quote(tmp_path, "ah-residential", "--period", "2026-11", "--kwh", "100", "--move-in", "2026-11-21")
    assert shown["start"] == "2026-11-21" and shown["total_fen"] == 3_392 + 2_461


def test_large_industry_with_flat_as_the_remainder(tmp_path):
    shown = quote(tmp_path, "zj-large-industry", "--period", "2026-11", "--kwh", "100000", "--sharp-kwh", "10000",
                  "--peak-kwh", "30000", "--valley-kwh", "20000", "--kva", "1000", "--power-factor", "0.85")
    assert [line["kind"] for line in shown["lines"]][:6] == ["sharp", "peak", "flat", "valley", "basic_capacity",
                                                             "power_factor"]
    assert shown["lines"][2]["wh"] == 40_000_000 and shown["total_fen"] == 10_162_768


def test_decimal_kwh_and_kw(tmp_path):
    shown = quote(tmp_path, "zj-large-industry", "--period", "2026-11", "--kwh", "1000", "--peak-kwh", "400",
                  "--valley-kwh", "200", "--kw", "812.5", "--power-factor", "0.954", "--move-in", "2026-11-21")
    assert shown["total_fen"] == 1_142_119
    assert quote(tmp_path, "zj-residential", "--period", "2026-11", "--kwh", "2.5")["total_fen"] == 135


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["nope", "--period", "2026-11", "--kwh", "5"], "Error: TARIFF_ID: unknown tariff 'nope' (known: "),
        (["zj-residential", "--period", "2026-13", "--kwh", "5"], "Error: --period: '2026-13' is not a month"),
        (["zj-residential", "--period", "2026-11", "--kwh", "-5"], "Error: --kwh: '-5' is not a number"),
        (["zj-residential", "--period", "2026-11", "--kwh", "1e3"], "Error: --kwh: '1e3' is not a number"),
        (["zj-residential", "--period", "2026-11", "--kwh", "1.0001"], "Error: --kwh: '1.0001' has more than 3 decimals"),
        (["zj-residential", "--period", "2026-11", "--kwh", "5", "--ytd-kwh", "x"], "Error: --ytd-kwh: 'x' is not"),
        (["zj-residential", "--period", "2026-11", "--kwh", "5", "--peak-kwh", "3"],
         "Error: --kwh: 5 kWh but the TOU buckets add up to 3 kWh"),
        (["zj-residential", "--period", "2010-11", "--kwh", "5"],
         "Error: --period: tariff zj-residential has no version in force on 2010-11-01"),
        (["zj-residential", "--period", "2026-11"], "Error: Missing option '--kwh'."),
        (["zj-residential", "--period", "2026-11", "--kwh", "5", "--bogus"], "Error: No such option '--bogus'."),
        (["zj-commercial-tou", "--period", "2026-11", "--kwh", "5"], "Error: --kwh: tariff zj-commercial-tou is priced"),
        (["zj-commercial", "--period", "2026-11", "--kwh", "5", "--peak-kwh", "5"], "Error: --peak-kwh: tariff zj-commercial"),
        (["zj-large-industry", "--period", "2026-11", "--kwh", "0", "--kva", "100"], "Error: --power-factor: "),
        (["zj-large-industry", "--period", "2026-11", "--kwh", "0", "--kva", "10.5", "--power-factor", "0.9"],
         "Error: --kva: '10.5' is not a whole number"),
        (["zj-large-industry", "--period", "2026-11", "--kwh", "0", "--kva", "1", "--power-factor", "1.5"],
         "Error: --power-factor: 1.5 is not a power factor between 0 and 1"),
        (["zj-commercial", "--period", "2026-11", "--kwh", "5", "--kw", "5"], "Error: --kw: tariff zj-commercial has no"),
        (["zj-residential", "--period", "2026-11", "--kwh", "5", "--move-in", "2026-02-30"],
         "Error: --move-in: '2026-02-30' is not a date"),
    ],
)
def test_bad_input_is_one_line_naming_the_option(tmp_path, args, line):
    result = dianfei("tariff", "quote", *args, tmp_path=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(line), result.stderr
