"""Bills as PDF: the text extracts back (number, 户号, every line's name and amount, the total, 估抄)
and any reasonable bill renders."""

import io
import re
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from billing.errors import InvalidInput
from portal.bill_document import Balance, BillDocument, DocumentLine, Forecast, ReadUsed, TierStanding, price_text
from portal.bill_pdf import render_bill_pdf

MILLIFEN = 1000  # per fen


def zhejiang_bill(**changes) -> BillDocument:
    """November 2026 of a Zhejiang household crossing into tier 2 on an estimated read, with a
    surcharge, last month's late fee and the carried difference of an earlier estimate."""
    bill = BillDocument(
        number="2026-000123", account_no="3301000123", holder_masked="李*荣",
        address="浙江省杭州市临安区锦城街道石镜街88号3幢2单元501室",
        period_start=date(2026, 11, 1), period_end=date(2026, 11, 30),
        issue_date=date(2026, 12, 1), due_date=date(2026, 12, 15),
        lines=(
            DocumentLine("tier_1", 13_988, wh=260_000, price_millifen_per_kwh=53_800),  # 260 x 0.538
            DocumentLine("tier_2", 14_112, wh=240_000, price_millifen_per_kwh=58_800),  # 240 x 0.588
            DocumentLine("surcharge:water_fund", 197, wh=500_000, price_millifen_per_kwh=393,
                         label="国家重大水利工程建设基金"),  # 500 x 0.00393 = 1.965
            DocumentLine("late_fee", 100, note="2026-10 账单逾期 12 天，不足 1 元按 1 元计"),
            DocumentLine("estimate_carry", -1_076, wh=-20_000, price_millifen_per_kwh=53_800,
                         note="2026-10 估抄多计 20.00 kWh"),
        ),
        reads=(ReadUsed(date(2026, 10, 31), "3300012345", 4_120_500, "ami"),
               ReadUsed(date(2026, 11, 30), "3300012345", 4_620_500, "estimated")),
        balance=Balance(-27_321),
        tiers=TierStanding(used_wh=3_000_000, tier=2, left_in_tier_wh=1_800_000, thresholds_wh=(2_760_000, 4_800_000)),
        forecast=Forecast(date(2026, 12, 1), date(2026, 12, 31), 410_000, 24_108),
    )
    return replace(bill, **changes)


def text_of(pdf: bytes) -> str:
    """The PDF's text with all whitespace removed, so a wrapped cell still reads as one word."""
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


def test_the_pdf_says_what_the_bill_says():
    bill = zhejiang_bill()
    pdf = render_bill_pdf(bill)
    assert pdf.startswith(b"%PDF-") and len(PdfReader(io.BytesIO(pdf)).pages) == 1
    text = text_of(pdf)
    expected = ["电费账单", "2026-000123", "3301000123", "李*荣", "石镜街88号3幢2单元501室", "2026-11-01至2026-11-30",
                "2026-12-15", "第一档电费", "260.00", "0.538", "139.88", "第二档电费", "240.00", "0.588", "141.12",
                "国家重大水利工程建设基金", "0.00393", "1.97", "违约金", "1.00", "估抄差额结转", "-20.00", "-10.76",
                "合计", "273.21", "4120.50", "4620.50", "估抄", "本期含估抄示数", "本年累计用电3000.00kWh",
                "处于第2档，本档还剩1800.00kWh", "已用3000.00kWh", "2760.00kWh", "4800.00kWh", "第3档", "2026-12-01至2026-12-31预计用电410.00kWh，电费约241.08元",
                "本期应缴273.21元，请于2026-12-15前缴清"]
    assert [word for word in expected if word not in text] == []
    assert bill.total_fen == 27_321


def test_a_long_bill_names_itself_on_every_page():
    many = tuple(DocumentLine(kind, 1_000, wh=10_000, price_millifen_per_kwh=10_000)
                 for kind in ("sharp", "peak", "flat", "valley") * 6)
    pages = PdfReader(io.BytesIO(render_bill_pdf(zhejiang_bill(lines=many, address="很长的地址" * 60)))).pages
    assert len(pages) == 2
    assert ["2026-000123" in page.extract_text() and "3301000123" in page.extract_text() for page in pages] == [True, True]
    # The lines table runs on to the second page, its heading row repeated there.
    assert ["项目" in page.extract_text() for page in pages] == [True, True]


def test_no_estimate_no_mark():
    bill = zhejiang_bill(reads=(ReadUsed(date(2026, 11, 30), "3300012345", 4_121_000_000, "manual"),))
    text = text_of(render_bill_pdf(bill))
    assert "估抄示数" not in text and "人工抄表" in text and "本期示数均为实际抄表或采集所得" in text


@pytest.mark.parametrize(("balance", "sentence"), [
    (Balance(5_000), "余额50.00元，本期电费已从余额中扣除，无需另行缴费"),
    (Balance(0), "余额0.00元"),
    (Balance(-60_000, overdue_days=45), "欠费600.00元，已逾期45天"),
])
def test_the_balance_in_words(balance, sentence):
    assert sentence in text_of(render_bill_pdf(zhejiang_bill(balance=balance)))


def test_top_tier_and_monthly_tiers():
    top = text_of(render_bill_pdf(zhejiang_bill(tiers=TierStanding(5_000_000, 3, None))))
    monthly = text_of(render_bill_pdf(zhejiang_bill(tiers=TierStanding(200_000, 2, 150_000, yearly=False))))
    assert "处于第3档（最高档）" in top
    assert "本月累计用电200.00kWh，处于第2档，本档还剩150.00kWh" in monthly


def test_a_bill_without_tiers_forecast_or_reads_still_renders():
    text = text_of(render_bill_pdf(zhejiang_bill(tiers=None, forecast=None, reads=())))
    assert "阶梯用电" not in text and "本期预测" not in text and "本期没有使用示数" in text


def test_english():
    text = text_of(render_bill_pdf(zhejiang_bill(), lang="en"))
    for word in ("Electricitybill", "2026-000123", "Tier1", "Latefee", "Total", "273.21", "Estimate"):
        assert word in text
    # Our texts are translated; the bill's own data (the address, a line's note) stays as written.
    assert [word for word in ("合计", "电费明细", "本期含估抄示数", "缴费截止日期") if word in text] == []


def test_same_bill_same_bytes():
    assert render_bill_pdf(zhejiang_bill()) == render_bill_pdf(zhejiang_bill())


@pytest.mark.parametrize(("millifen", "shown"), [(53_800, "0.538"), (393, "0.00393"), (100_000, "1.00"),
                                                 (50_000, "0.50"), (56_530, "0.5653"), (-1, "-0.00001")])
def test_prices_exact(millifen, shown):
    assert price_text(millifen) == shown


@pytest.mark.parametrize(("changes", "field"), [({"number": "123"}, "number"), ({"account_no": "33010"}, "account_no"),
                                                ({"period_end": date(2026, 10, 31)}, "period_end")])
def test_a_document_that_cannot_be_a_bill_is_refused(changes, field):
    with pytest.raises(InvalidInput) as refused:
        zhejiang_bill(**changes)
    assert refused.value.field == field


def test_an_unknown_language_is_refused():
    with pytest.raises(InvalidInput):
        render_bill_pdf(zhejiang_bill(), lang="fr")


KINDS = ["tier_1", "tier_2", "tier_3", "tier_2_markup", "peak", "valley", "sharp", "flat", "energy", "basic_capacity",
         "basic_demand", "power_factor", "surcharge:renewable", "late_fee", "estimate_carry", "some_new_kind"]
HUGE = 10**15  # fen: ten trillion 元, far past any bill, so that twenty lines still fit a BIGINT
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)
lines = st.builds(DocumentLine, kind=st.sampled_from(KINDS), amount_fen=st.integers(-HUGE, HUGE),
                  wh=st.none() | st.integers(-10**12, 10**12), price_millifen_per_kwh=st.none() | st.integers(-10**8, 10**8),
                  label=st.none() | text, note=text)

tiers = st.builds(TierStanding, used_wh=st.integers(-10**12, 10**12), tier=st.integers(1, 3),
                  left_in_tier_wh=st.none() | st.integers(0, 10**12), yearly=st.booleans(),
                  thresholds_wh=st.lists(st.integers(0, 10**12), max_size=3).map(lambda bounds: tuple(sorted(bounds))))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(lines, max_size=20), address=text, holder=text,
       balance=st.builds(Balance, st.integers(-HUGE, HUGE), st.integers(0, 3650)), tiers=st.none() | tiers,
       lang=st.sampled_from(["zh", "en"]))
def test_any_reasonable_bill_renders_with_its_total(lines, address, holder, balance, tiers, lang):
    bill = zhejiang_bill(lines=tuple(lines), address=address * 3, holder_masked=holder, balance=balance, tiers=tiers)
    pdf = render_bill_pdf(bill, lang=lang)
    assert bill.total_text in text_of(pdf)
