"""Headless Chromium for the browser tests: Debian's ``chromium`` and ``chromium-driver`` driven by
Selenium, at a phone viewport (390 px) or a desk viewport (1366 px).

Every page a test looks at can be saved as a screenshot under ``tests/e2e/screenshots/`` (not
committed), and checked for tables squeezed so narrow that a cell shows less than two characters
per line — the one-character-per-line columns (微/信/支/付) people saw on desk pages.
"""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

SCREENSHOTS = Path(__file__).parent / "screenshots"
PHONE, DESK = (390, 844), (1366, 900)
PHONE_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
            "Mobile Safari/537.36")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
         "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage")


def chromium_paths() -> tuple[str, str] | None:
    """(browser, driver) if both are installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def start(size: tuple[int, int], user_agent: str | None = None) -> webdriver.Chrome:
    """``user_agent``: the browser says it is another (WeChat's, say); a phone-sized window says it
    is a phone's browser, as the pages that differ by device (pay) need."""
    user_agent = user_agent or (PHONE_UA if size[0] < 800 else None)
    browser, driver = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={max(size[0], 500)},{size[1]}")  # headless windows are >= 500 px wide
    # The viewport itself is emulated, so a phone really is 390 CSS pixels wide.
    options.add_experimental_option("mobileEmulation", {
        "deviceMetrics": {"width": size[0], "height": size[1], "pixelRatio": 1, "mobile": size[0] < 800},
        **({"userAgent": user_agent} if user_agent else {})})
    options.add_argument("--lang=zh-CN")
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    chrome.set_page_load_timeout(30)
    return chrome


def ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes", "on")


# Cells whose text box is narrower than two of their own characters (padding excluded).
_NARROW_CELLS = """
const narrow = [];
for (const cell of document.querySelectorAll('td, th')) {
  const text = cell.innerText.trim();
  if (!text || cell.offsetParent === null) continue;
  const style = getComputedStyle(cell);
  const inner = cell.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const needed = Math.min(2, [...text].length) * parseFloat(style.fontSize) * 0.9;
  if (inner < needed) narrow.push(text.slice(0, 20) + ' (' + Math.round(inner) + 'px)');
}
return narrow;
"""


class Page:
    """One browser window on the site under test."""

    def __init__(self, chrome: webdriver.Chrome, base_url: str, name: str) -> None:
        self.chrome, self.base_url, self.name = chrome, base_url, name
        self.shots = 0

    def open(self, path: str) -> None:
        self.chrome.get(path if path.startswith("http") else self.base_url + path)

    def find(self, css: str):
        return self.chrome.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list:
        return self.chrome.find_elements(By.CSS_SELECTOR, css)

    def fill(self, css: str, value: str) -> None:
        field = self.find(css)
        field.clear()
        field.send_keys(value)

    def click(self, css: str) -> None:
        self.find(css).click()

    def button(self, label: str):
        """The visible button whose text contains ``label``."""
        for element in self.all("button, input[type=submit], a.button"):
            if element.is_displayed() and label in (element.text or element.get_attribute("value") or ""):
                return element
        raise AssertionError(f"no button {label!r} on {self.chrome.current_url}")

    def press(self, label: str, timeout: float = 20) -> None:
        """Press a button or link that loads another page, and wait until the new page is there."""
        old = self.find("html")
        self.button(label).click()
        WebDriverWait(self.chrome, timeout).until(_gone(old), message=f"pressing {label!r} loaded no page")

    def text(self) -> str:
        return self.find("body").text

    def wait_for_text(self, text: str, timeout: float = 20) -> None:
        """Wait until ``text`` is on the page, across the reloads a polling page makes meanwhile."""
        WebDriverWait(self.chrome, timeout, ignored_exceptions=(WebDriverException,)).until(
            lambda chrome: text in chrome.find_element(By.TAG_NAME, "body").text,
            message=f"{text!r} never appeared on {self.chrome.current_url}",
        )

    def shoot(self, label: str) -> Path:
        """Save a screenshot of the whole page; checks that its tables are readable."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        path = SCREENSHOTS / f"{self.name}-{self.shots:02d}-{label}.png"
        shot = self.chrome.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        path.write_bytes(base64.b64decode(shot["data"]))
        assert self.narrow_cells() == [], f"{path.name}: table cells narrower than two characters"
        return path

    def narrow_cells(self) -> list[str]:
        return self.chrome.execute_script(_NARROW_CELLS)


def _gone(element):
    """``staleness_of`` that also takes Chromium's "node does not belong to the document" or an
    "unhandled inspector error" (raised instead of a stale reference while the old page is torn
    down) for the page being gone."""
    def check(_driver) -> bool:
        try:
            element.is_enabled()
        except WebDriverException:  # StaleElementReferenceException is one too
            return True
        return False
    return check
