"""营销财务月报 in the browser, on a phone and at a desk: finance opens last month's statement of the
demo county, the two books agree, chart.js (served from static/vendor, installed by `npm ci`) draws
both charts with no error in the console, and the page fits a 390 px phone."""

from pathlib import Path

import pytest

from billing.clock import beijing_date, system_clock
from billing.finance_statement import months_before
from tests.e2e import browser
from tests.e2e.test_staff import staff_log_in

CHART_JS = Path(__file__).resolve().parents[2] / "static" / "vendor" / "chart.umd.min.js"


@pytest.fixture
def chart_js():
    if not CHART_JS.exists():
        reason = "static/vendor/chart.umd.min.js is missing: `make run` (or `make test` under CI) installs it with npm ci"
        if browser.ci():
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.mark.parametrize("window", ["phone", "desk"])
def test_finance_reads_last_month_with_its_charts(request, site, chart_js, window):
    page = request.getfixturevalue(window)
    last_month = months_before(beijing_date(system_clock()).replace(day=1), 1).strftime("%Y-%m")
    staff_log_in(page, "finance1")
    page.open(f"/staff/finance?month={last_month}")
    page.wait_for_text("账单与总账的数字一致")
    drawn = page.chrome.execute_script(
        "return [!!(window.Chart && Chart.getChart('trend-chart')), !!(window.Chart && Chart.getChart('aging-chart'))]")
    assert drawn == [True, True]
    errors = [entry["message"] for entry in page.chrome.get_log("browser")
              if entry["level"] == "SEVERE" and "favicon" not in entry["message"]]
    assert errors == []
    if window == "phone":
        assert page.chrome.execute_script("return document.documentElement.scrollWidth") <= 390
    page.shoot("finance-statement")
