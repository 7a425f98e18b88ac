"""The real Temporal UI (the dev server's) decodes a case's history through our codec endpoint, in headless
Chromium: a co-ordinator turns on "Include cross-origin credentials", signs in at /codec/login, follows its link
back and reads the subject's details; the case's audit trail records the views once."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlencode
from uuid import uuid4

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.converter import data_converter_for
from core.settings import Settings
from store.models import AuditEvent
from tests.case_builders import SUBJECT, community_notification
from tests.e2e.api_rig import database, issue_tokens
from tests.e2e.browser import ServedApi, headless_chromium
from tests.helpers import free_port, unique_task_queue
from worker.binaries import temporal_cli_path
from workflows.messages import CaseWorkflowInput

pytestmark = pytest.mark.timeout(120)

WAIT_SECONDS = 45


browser = pytest.fixture(headless_chromium)


def read_in_ui(driver: WebDriver, api: str, ui: str, token: str, page: str, views: int) -> list[bool]:
    # The UI's codec settings, as a co-ordinator sets them once in the browser: use this endpoint, with
    # credentials (the server-side settings from --ui-codec-endpoint cannot include credentials).
    driver.get(f"{ui}/namespaces/default/workflows")
    driver.execute_script(
        "localStorage.setItem('overrideRemoteCodecConfiguration', 'true');"
        "localStorage.setItem('includeCredentials', 'true');"
        "localStorage.setItem('endpoint', JSON.stringify(arguments[0]));",
        f"{api}/codec",
    )
    # Signing in links straight back to the page the co-ordinator came from.
    driver.get(f"{api}/codec/login?{urlencode({'then': page})}")
    driver.find_element(By.NAME, "token").send_keys(token)
    driver.find_element(By.TAG_NAME, "button").click()
    # The click submits a form: wait for the answer's page rather than read the form's page still shown.
    # The old page's body goes stale as the new one loads: read again rather than fail.
    WebDriverWait(driver, WAIT_SECONDS, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: "Signed in" in d.find_element(By.TAG_NAME, "body").text
    )
    driver.find_element(By.LINK_TEXT, "Back to the Temporal UI").click()
    shown = [shows_subject(driver)]
    for _ in range(views - 1):  # the co-ordinator comes back to the case, or reloads it
        driver.refresh()
        shown.append(shows_subject(driver))
    return shown


def shows_subject(driver: WebDriver) -> bool:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if SUBJECT.name in driver.page_source:
            return True
        time.sleep(0.5)
    return False


async def test_a_co_ordinator_reads_a_case_decrypted_in_the_temporal_ui_and_each_view_is_one_row(
    browser: WebDriver, tmp_path: Path
) -> None:
    url, engine = database(tmp_path)
    tokens = issue_tokens(engine)
    api_port, ui_port = free_port(), free_port()
    api, ui = f"http://localhost:{api_port}", f"http://localhost:{ui_port}"
    settings = Settings(
        database_url=url, temporal_namespace="default", ui_origin=ui, temporal_address="127.0.0.1:1"
    )
    env = await WorkflowEnvironment.start_local(
        namespace="default",
        dev_server_existing_path=str(temporal_cli_path()),
        dev_server_log_level="warn",
        ui=True,
        ui_port=ui_port,
        dev_server_extra_args=["--ui-codec-endpoint", f"{api}/codec", "--ui-disable-news-fetch"],
        data_converter=data_converter_for(settings),
    )
    ref = f"MAPPA-LAN-2026-{uuid4().hex[:6].upper()}"
    try:
        # The start event alone carries the subject's details; no worker is needed to show them.
        handle = await env.client.start_workflow(
            "MappaCase",
            CaseWorkflowInput(opening=community_notification(ref, disposal_date=date.today())),
            id=ref,
            task_queue=unique_task_queue(),
        )
        page = f"{ui}/namespaces/default/workflows/{ref}/{handle.result_run_id}/history"
        # The codec asks Temporal whether the case exists before it decodes.
        with ServedApi(create_app(settings, client=env.client, engine=engine), api_port):
            shown = await asyncio.to_thread(read_in_ui, browser, api, ui, tokens["lan-co"], page, 3)
    finally:
        await env.shutdown()

    assert shown == [True, True, True], "the Temporal UI did not show the decrypted input"
    with Session(engine) as session:
        decodes = session.scalars(
            select(AuditEvent).where(AuditEvent.case_ref == ref, AuditEvent.action.startswith("decode"))
        ).all()
    engine.dispose()
    # Three views, each many requests to the codec: one row.
    assert [(d.user_name, d.outcome) for d in decodes] == [("test lan-co", "allowed")]
