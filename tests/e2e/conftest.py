"""The API served in-process against real parts: the Temporal dev server, a real worker with its activities, a
SQLite database built by the migrations, and a local SMTP server.

`api_rig` gives each test a fresh database (directory loaded) and a worker on its module's task queue; requests
go through `httpx.ASGITransport`, so the app, its dependencies and its error handling run exactly as served.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.settings import Settings
from tests.e2e.api_rig import ApiRig, database, issue_tokens
from tests.helpers import SmtpSink, unique_task_queue
from worker.assembly import build_activities, build_worker


@pytest.fixture(scope="module")
def module_task_queue() -> str:
    return unique_task_queue()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    _, engine = database(tmp_path)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
async def api_rig(
    dev_server_env: WorkflowEnvironment, engine: Engine, smtp_server: SmtpSink, module_task_queue: str
) -> AsyncIterator[ApiRig]:
    settings = Settings(
        database_url=str(engine.url),
        task_queue=module_task_queue,
        temporal_namespace=dev_server_env.client.namespace,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_timeout_seconds=5,
    )
    app = create_app(settings, client=dev_server_env.client, engine=engine)
    worker = build_worker(dev_server_env.client, settings, build_activities(settings, engine))
    async with (
        worker,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mappa.test") as http,
    ):
        yield ApiRig(http, engine, settings, smtp_server, dev_server_env, issue_tokens(engine), app)
