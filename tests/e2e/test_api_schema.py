"""No request, however malformed, makes the API fail: generated from its own OpenAPI schema (schemathesis).

The app runs as served (its lifespan connects to the Temporal dev server and builds the engine) with a real
worker behind it, so generated case openings start real workflows and generated events reach real ones.
Hypothesis drives the ASGI app from a thread while this test's event loop runs the worker.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.python import asgi
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.settings import Settings
from tests.e2e.api_rig import database, issue_tokens
from tests.helpers import SmtpSink, unique_task_queue
from worker.assembly import build_activities, build_worker

EXAMPLES = 400
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def open_real_case(app: object, token: str) -> str:
    """A live case, so generated events also reach a real workflow (not only 404s for made-up references)."""
    body: dict[str, Any] = {
        "area": "lanarkshire",
        "jurisdiction": "scotland",
        "category": 1,
        "lead_agency": "police-scotland-lanarkshire",
        "subject": {"name": "Fuzz Testperson", "date_of_birth": "1980-01-01", "address": "1 Test Street"},
        "notification": {
            "notifying_agency": "police-scotland-lanarkshire",
            "disposal_date": date.today().isoformat(),
        },
    }
    with asgi.get_client(app) as client:  # type: ignore[arg-type]
        response = client.post("/cases", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.text
    case_ref: str = response.json()["case_ref"]
    return case_ref


def fuzz(app: object, token: str) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    real_case = {"case_ref": open_real_case(app, token)}
    strategy = st.one_of(
        schema.as_strategy(generation_mode=GenerationMode.POSITIVE),
        schema.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        schema.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=real_case),
        schema.as_strategy(generation_mode=GenerationMode.NEGATIVE, path_parameters=real_case),
    )

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,  # the same requests on every run: CI failures reproduce
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def no_request_fails(case: schemathesis.Case) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    try:
        no_request_fails()
    finally:
        asgi.shutdown_lifespans()


@pytest.mark.timeout(180)
async def test_no_generated_request_gets_a_server_error(
    dev_server_env: WorkflowEnvironment, tmp_path: Path, smtp_server: SmtpSink
) -> None:
    url, engine = database(tmp_path)
    tokens = issue_tokens(engine)
    settings = Settings(
        database_url=url,
        temporal_address=dev_server_env.client.service_client.config.target_host,
        temporal_namespace=dev_server_env.client.namespace,
        task_queue=unique_task_queue(),
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_timeout_seconds=5,
    )
    app = create_app(settings)
    try:
        async with build_worker(dev_server_env.client, settings, build_activities(settings, engine)):
            await asyncio.to_thread(fuzz, app, tokens["lan-co"])
    finally:
        engine.dispose()
