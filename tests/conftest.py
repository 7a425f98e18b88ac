"""Fixtures for the whole suite: real Temporal servers, PostgreSQL and a local SMTP server.

Temporal environments are session-scoped (starting one takes seconds); isolate tests from each other with
`unique_task_queue()` and unique workflow IDs instead. Folder-specific fixtures live in
tests/<folder>/conftest.py.
"""

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
import time_machine
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from bench.rig import POSTGRES_URLS
from core.codec import keys_document
from core.converter import data_converter_for
from core.settings import Settings
from tests.clock import pinned_instant
from tests.helpers import SmtpSink, unique_task_queue
from worker.binaries import temporal_cli_path, temporal_test_server_path
from worker.search_attribute_registry import indexed_value_types, search_attribute_keys

__all__ = ["unique_task_queue"]


TEST_KEY_ID = "test-1"
_key_dir: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    """A payload encryption key made for this session, as `MAPPA_CODEC_KEY_FILE`: every `Settings()` the
    tests build (worker, API, CLI subprocesses) and the Temporal fixtures encrypt with it, like production."""
    global _key_dir
    _key_dir = Path(tempfile.mkdtemp(prefix="mappa-test-keys-"))
    key_file = _key_dir / "codec.key"
    key_file.write_text(keys_document({TEST_KEY_ID: secrets.token_bytes(32)}, TEST_KEY_ID))
    key_file.chmod(0o600)
    os.environ["MAPPA_CODEC_KEY_FILE"] = str(key_file)
    _pin_the_clock()


_travel: time_machine.travel | None = None


def _pin_the_clock() -> None:
    """With MAPPA_TODAY set (tests/clock.py), this process's clocks start at that instant and tick on."""
    global _travel
    instant = pinned_instant()
    if instant is None:
        return
    _travel = time_machine.travel(instant, tick=True)
    _travel.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _travel is not None:
        _travel.stop()
    if _key_dir is not None:
        shutil.rmtree(_key_dir, ignore_errors=True)


def _data_converter() -> DataConverter:
    # The converter the worker and API use, so tests exercise the same serialisation and encryption.
    return data_converter_for(Settings())


@contextlib.asynccontextmanager
async def time_skipping_environment() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh Java test server: timers skip, so a 30-day deadline passes at once. Namespace "default"."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(temporal_test_server_path()),
        data_converter=_data_converter(),
    )
    try:
        # This server cannot list search attributes, and an upsert of an unregistered one hangs the
        # workflow instead of failing it: register them all up front.
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace, search_attributes=indexed_value_types()
            )
        )
        await _skip_to_pinned_instant(env)
        yield env
    finally:
        await env.shutdown()


async def _skip_to_pinned_instant(env: WorkflowEnvironment) -> None:
    """With MAPPA_TODAY set, the test server's clock is moved forward to it (it cannot go back)."""
    instant = pinned_instant()
    if instant is None:
        return
    server_now = await env.get_current_time()
    if instant <= server_now:
        raise RuntimeError(
            f"MAPPA_TODAY={instant.isoformat()} is not after the test server's clock {server_now}"
        )
    await env.sleep(instant - server_now)


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping server shared by the session (tests/workflow/ has one per test module).

    Its clock is shared by every test that uses it: never terminate a case on it. A case closed while one of
    its activities is in flight keeps the clock locked for good (temporalio/sdk-java#1138) and every later
    `env.sleep` times out. A test that must terminate its cases uses `dev_server_env`.
    """
    async with time_skipping_environment() as env:
        yield env


@pytest.fixture(scope="session")
async def dev_server_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (in memory), namespace "default", with every case search attribute.

    History suggests continue-as-new after 200 events so tests can reach it quickly.
    """
    env = await WorkflowEnvironment.start_local(
        namespace="default",
        dev_server_existing_path=str(temporal_cli_path()),
        search_attributes=search_attribute_keys(),
        dev_server_log_level="warn",
        dev_server_extra_args=["--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=200"],
        data_converter=_data_converter(),
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A SQLAlchemy URL for the local PostgreSQL `test` database; skips when none answers.

    Set MAPPA_TEST_POSTGRES_URL to use another server. The database is shared by the session: create
    what a test needs under its own schema or tables and drop it afterwards.
    """
    override = os.environ.get("MAPPA_TEST_POSTGRES_URL")
    failures: list[str] = []
    for url in (override,) if override else POSTGRES_URLS:
        try:
            with psycopg.connect(url.replace("+psycopg", "", 1), connect_timeout=3):
                return url
        except psycopg.Error as error:
            failures.append(f"{url}: {str(error).strip()}")
    pytest.skip("PostgreSQL not answering on 127.0.0.1:5432: " + "; ".join(failures))


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    """A fresh SMTP server on 127.0.0.1 and a free port; `.messages`, `.wait_for(n)`, `.stop()`/`.start()`."""
    with SmtpSink() as sink:
        yield sink
