"""The ops page in a real browser (Debian's headless Chromium through chromedriver) against the API served
by uvicorn on loopback: sign in with a token, and find the breached deadline this test created."""

from __future__ import annotations

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
            refresh = browser.find_element(By.CSS_SELECTOR, 'meta[http-equiv="refresh"]')
            assert refresh.get_attribute("content") == "60"
            # The token lives in an HttpOnly cookie: the page's scripts cannot read it.
            assert browser.execute_script("return document.cookie") == ""
    finally:
        engine.dispose()
