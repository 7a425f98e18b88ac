"""The ops page in a real browser (Debian's headless Chromium through chromedriver) against the API served
by uvicorn on loopback: sign in with a token, and find the breached deadline this test created."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from api.app import create_app
from tests.e2e.api_rig import database, issue_tokens
from tests.e2e.ops_ledger import breached_record_search, referral_just_received
from tests.helpers import free_port
from worker.settings import Settings

pytestmark = pytest.mark.timeout(120)

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
STARTUP_SECONDS = 20


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.skip(
            f"browser test needs Debian's chromium and chromium-driver: {', '.join(missing)} missing "
            "(`make test` installs them where it can)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    # Both paths given: Selenium Manager, which would download a browser, is never asked.
    driver = webdriver.Chrome(
        options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER))
    )
    try:
        yield driver
    finally:
        driver.quit()


class ServedApi:
    """The API app served by uvicorn on a free loopback port, on a thread of its own."""

    def __init__(self, app: object) -> None:
        self.port = free_port()
        # No lifespan: the ops page needs only the database, and Temporal is not running for this test.
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, lifespan="off", log_level="warning")  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServedApi:
        self.thread.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"uvicorn did not start on port {self.port}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


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
