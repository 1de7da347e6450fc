"""The browser harness's own checks must be able to fail: a squeezed table is caught."""

from tests.e2e import browser

SQUEEZED = ("data:text/html;charset=utf-8,<meta name=viewport content='width=device-width'>"
            "<table style='width:60px'><tr><td>微信支付</td><td>DF2026120100000000000001</td></tr></table>")
ROOMY = "data:text/html;charset=utf-8,<table><tr><td>微信支付</td><td>100.00</td></tr></table>"


def test_a_table_squeezed_to_one_character_per_line_is_caught(chromium):
    chrome = browser.start(browser.DESK)
    try:
        page = browser.Page(chrome, "", "checks")
        page.open(SQUEEZED)
        assert page.narrow_cells() != []
        page.open(ROOMY)
        assert page.narrow_cells() == []
    finally:
        chrome.quit()
