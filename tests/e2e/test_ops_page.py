"""The ops page in a real browser (Debian's headless Chromium through chromedriver) against the API served
by uvicorn on loopback: sign in with a token, and find the breached deadline this test created."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from api.app import create_app
from core.settings import Settings
from tests.e2e.api_rig import database, issue_tokens
from tests.e2e.browser import ServedApi, headless_chromium
from tests.e2e.ops_ledger import breached_record_search, referral_just_received

pytestmark = pytest.mark.timeout(120)

browser = pytest.fixture(headless_chromium)


def test_the_ops_page_shows_a_breached_deadline_in_its_breaches_table(
    browser: WebDriver, tmp_path: Path
) -> None:
    url, engine = database(tmp_path)
    try:
        token = issue_tokens(engine)["lan-ops"]
        breached = breached_record_search(engine)
        due_soon = referral_just_received(engine)
        app = create_app(Settings(database_url=url, temporal_address="127.0.0.1:1"), engine=engine)

        with ServedApi(app) as api:
            browser.get(f"{api.url}/ops")
            browser.find_element(By.ID, "token").send_keys(token)
            browser.find_element(By.CSS_SELECTOR, "#sign-in button[type=submit]").click()
            WebDriverWait(browser, 10).until(
                expected_conditions.presence_of_element_located((By.ID, "breaches"))
            )

            assert browser.title == "MAPPA ops: Lanarkshire"
            breaches = [
                (row.find_element(By.CSS_SELECTOR, "td.case-ref").text, row.text)
                for row in browser.find_elements(By.CSS_SELECTOR, "#breaches tbody tr")
            ]
            search = [text for ref, text in breaches if ref == breached and "agency record search" in text]
            assert search, f"{breached}'s record search is not in the breaches table: {breaches}"
            assert "nhs-lanarkshire" in search[0] and "breached" in search[0]
            soon = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#due-soon td.case-ref")]
            assert due_soon in soon and breached not in soon
            assert browser.find_element(By.CSS_SELECTOR, "#compliance tbody tr")
            figures = browser.find_element(By.ID, "annual-figures").get_attribute("href")
            assert figures is not None and figures.endswith("/ops/figures")
            refresh = browser.find_element(By.CSS_SELECTOR, 'meta[http-equiv="refresh"]')
            assert refresh.get_attribute("content") == "60"
            # The token lives in an HttpOnly cookie: the page's scripts cannot read it.
            assert browser.execute_script("return document.cookie") == ""

            # The trends: a period that holds March, when the breached case's deadlines fell due.
            browser.get(f"{api.url}/ops?from=2026-03-01&to=2027-02-28")
            WebDriverWait(browser, 10).until(
                expected_conditions.presence_of_element_located((By.ID, "outcomes-chart"))
            )
            assert_the_charts_match_the_tables(browser)
    finally:
        engine.dispose()


def assert_the_charts_match_the_tables(browser: WebDriver) -> None:
    """Each chart is drawn (an accessible SVG image) and says what the tables say."""
    for chart in ("outcomes-chart", "breaches-chart"):
        svg = browser.find_element(By.ID, chart)
        assert svg.get_attribute("role") == "img" and svg.is_displayed()
        assert browser.find_element(By.ID, f"{chart}-title").get_attribute("textContent")
    months = browser.find_elements(By.CSS_SELECTOR, "#outcomes-chart g.month")
    assert [m.get_attribute("data-month") for m in months][:2] == ["2026-03", "2026-04"] and len(months) == 12

    # Outcomes by month, summed, against the compliance table's columns (met on time, met late, still breached).
    charted = dict.fromkeys(("met_on_time", "met_late", "still_breached"), 0)
    for bar in browser.find_elements(By.CSS_SELECTOR, "#outcomes-chart rect[data-outcome]"):
        charted[bar.get_attribute("data-outcome") or ""] += int(bar.get_attribute("data-count") or 0)
    tabled = dict.fromkeys(charted, 0)
    for row in browser.find_elements(By.CSS_SELECTOR, "#compliance tbody tr"):
        cells = [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        for column, key in ((2, "met_on_time"), (3, "met_late"), (4, "still_breached")):
            tabled[key] += int(cells[column])
    assert charted == tabled and tabled["still_breached"] > 0, (charted, tabled)

    # Open breaches by kind against the breaches table's rows.
    by_kind = {
        group.get_attribute("data-kind"): int(group.get_attribute("data-count") or 0)
        for group in browser.find_elements(By.CSS_SELECTOR, "#breaches-chart g.kind")
    }
    rows = [
        row.get_attribute("data-kind") for row in browser.find_elements(By.CSS_SELECTOR, "#breaches tbody tr")
    ]
    assert by_kind == Counter(rows) and by_kind.get("record-search") == 1, (by_kind, rows)
