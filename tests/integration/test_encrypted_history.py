"""Encrypted case history on the real dev server: a key rotation keeps old cases readable, a decrypted history
replays, and the Temporal CLI reads history through our codec endpoint with a co-ordinator's token."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from uuid import uuid4

import pytest
import uvicorn
from sqlalchemy import Engine
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from api.app import create_app
from api.auth import issue_token
from core.codec import (
    KEY_ID_METADATA,
    EncryptionCodec,
    KeyRing,
    UnknownKeyError,
    decode_in_place,
    payloads_in,
)
from core.converter import encrypting_data_converter
from core.database import make_engine, session_factory
from core.settings import Settings
from store.directory import load_directory
from store.migrate import upgrade
from tests.case_builders import SUBJECT, community_notification
from tests.helpers import SmtpSink, free_port, unique_task_queue
from worker.assembly import SANDBOX_PASSTHROUGH, build_activities, build_worker
from worker.binaries import temporal_cli_path
from workflows.case import MappaCaseWorkflow
from workflows.messages import CaseFile, CaseWorkflowInput, Receipt
from workflows.rules import events as ev

pytestmark = pytest.mark.timeout(120)

DIRECTORY = Path(__file__).resolve().parents[2] / "store" / "seed" / "directory.json"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'mappa.db'}")
    upgrade(engine)
    load_directory(engine, DIRECTORY)
    try:
        yield engine
    finally:
        engine.dispose()


def client_with(env: WorkflowEnvironment, keys: KeyRing) -> Client:
    """Another client of the same server, speaking through a converter with these keys."""
    return Client(
        env.client.service_client,
        namespace=env.client.namespace,
        data_converter=encrypting_data_converter(keys),
    )


@contextlib.asynccontextmanager
async def worker_for(client: Client, engine: Engine, smtp: SmtpSink, task_queue: str) -> AsyncIterator[None]:
    settings = Settings(
        smtp_host=smtp.host, smtp_port=smtp.port, smtp_timeout_seconds=5, task_queue=task_queue
    )
    worker = build_worker(client, settings, build_activities(settings, engine), task_queue=task_queue)
    # The worker takes the configured number of workflow tasks at once, not the SDK's default of 100.
    assert worker.config()["max_concurrent_workflow_tasks"] == settings.workflow_task_slots
    async with worker:
        yield


def case_ref() -> str:
    return f"MAPPA-LAN-2026-{uuid4().hex[:6].upper()}"


async def test_cases_written_under_the_old_key_still_read_after_a_new_key_becomes_current(
    dev_server_env: WorkflowEnvironment, ledger: Engine, smtp_server: SmtpSink
) -> None:
    old = KeyRing({"2026-q1": secrets.token_bytes(32)}, "2026-q1")
    rotated = KeyRing({**old.keys, "2026-q2": secrets.token_bytes(32)}, "2026-q2")
    task_queue, ref = unique_task_queue(), case_ref()

    before = client_with(dev_server_env, old)
    async with worker_for(before, ledger, smtp_server, task_queue):
        handle = await before.start_workflow(
            MappaCaseWorkflow.run,
            CaseWorkflowInput(opening=community_notification(ref, disposal_date=date.today())),
            id=ref,
            task_queue=task_queue,
        )
        await handle.execute_update(
            MappaCaseWorkflow.screen_notification,
            ev.ScreeningDecision(outcome="referral-needed", reason="joint assessment"),
        )

    # A fresh worker with the rotated key ring replays the whole case from its history (no cached state).
    after = client_with(dev_server_env, rotated)
    async with worker_for(after, ledger, smtp_server, task_queue):
        handle = after.get_workflow_handle(ref)
        case: CaseFile = await handle.query(MappaCaseWorkflow.case_file)
        assert case.subject == SUBJECT and case.stage.value == "referral-due"
        receipt: Receipt = await handle.execute_update(
            MappaCaseWorkflow.submit_referral,
            ev.ReferralSubmitted(referring_agency="police-scotland-lanarkshire", level_sought=2),
        )
        assert receipt.stage.value == "referral"
        history = await handle.fetch_history()

    assert key_ids_in(history) == {
        "2026-q1",
        "2026-q2",
    }  # the start under the old key, the referral under the new

    # Retiring the old key too soon would make the old case unreadable, and says so.
    newest_only = EncryptionCodec(KeyRing({"2026-q2": rotated.keys["2026-q2"]}, "2026-q2"))
    with pytest.raises(UnknownKeyError, match="2026-q1"):
        for event in history.events:
            await decode_in_place(event, newest_only)
    await handle.terminate("test over")


async def test_a_decrypted_history_replays_on_the_current_code(
    dev_server_env: WorkflowEnvironment, ledger: Engine, smtp_server: SmtpSink
) -> None:
    """How tests/workflow keeps saved histories: decrypted, so they outlive the session's test key."""
    task_queue, ref = unique_task_queue(), case_ref()
    client = dev_server_env.client
    async with worker_for(client, ledger, smtp_server, task_queue):
        handle = await client.start_workflow(
            MappaCaseWorkflow.run,
            CaseWorkflowInput(opening=community_notification(ref, disposal_date=date.today())),
            id=ref,
            task_queue=task_queue,
        )
        await handle.execute_update(
            MappaCaseWorkflow.screen_notification, ev.ScreeningDecision(outcome="level-1", reason="low risk")
        )
        history = await handle.fetch_history()
        await handle.terminate("test over")

    codec = client.data_converter.payload_codec
    assert codec is not None
    for event in history.events:
        await decode_in_place(event, codec)
    replayer = Replayer(
        workflows=[MappaCaseWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*SANDBOX_PASSTHROUGH)
        ),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None


def key_ids_in(history: WorkflowHistory) -> set[str]:
    return {
        p.metadata[KEY_ID_METADATA].decode()
        for event in history.events
        for p in payloads_in(event)
        if KEY_ID_METADATA in p.metadata
    }


@contextlib.contextmanager
def api_served(settings: Settings, engine: Engine) -> Iterator[str]:
    """The API on a real port (the CLI is another process), in a thread; its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, engine=engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            threading.Event().wait(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def test_the_temporal_cli_reads_history_through_the_codec_endpoint_with_a_co_ordinator_token(
    dev_server_env: WorkflowEnvironment, ledger: Engine
) -> None:
    client, ref = dev_server_env.client, case_ref()
    # No worker needed: the start event alone carries the subject's details.
    handle = await client.start_workflow(
        MappaCaseWorkflow.run,
        CaseWorkflowInput(opening=community_notification(ref, disposal_date=date.today())),
        id=ref,
        task_queue=unique_task_queue(),
    )
    with session_factory(ledger).begin() as session:
        co_ordinator = issue_token(
            session,
            user_name="cli co",
            agency_id="lanarkshire-justice-social-work",
            role="co-ordinator",
            area="lanarkshire",
        )
        worker = issue_token(
            session,
            user_name="cli police",
            agency_id="police-scotland-lanarkshire",
            role="agency-worker",
            area="lanarkshire",
        )
    settings = Settings(
        database_url=str(ledger.url),
        temporal_address=client.service_client.config.target_host,
        temporal_namespace=client.namespace,
    )

    def show(*codec_args: str) -> subprocess.CompletedProcess[str]:
        command = [
            str(temporal_cli_path()),
            *("workflow", "show", "--workflow-id", ref, "--output", "json"),
            *("--address", client.service_client.config.target_host, "--namespace", client.namespace),
            *codec_args,
        ]
        return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)

    try:
        with api_served(settings, ledger) as api:
            endpoint = ("--codec-endpoint", f"{api}/codec")
            decoded = await asyncio.to_thread(show, *endpoint, "--codec-auth", f"Bearer {co_ordinator}")
            # The CLI retries a refused decode until its command times out.
            refused = await asyncio.to_thread(
                show, *endpoint, "--codec-auth", f"Bearer {worker}", "--command-timeout", "2s"
            )
        plain = await asyncio.to_thread(show)
    finally:
        await handle.terminate("test over")

    assert decoded.returncode == 0, decoded.stderr
    assert SUBJECT.name in payload_text(decoded.stdout) and SUBJECT.address in payload_text(decoded.stdout)
    assert SUBJECT.name not in payload_text(plain.stdout) and "binary/encrypted" in payload_text(plain.stdout)
    assert refused.returncode != 0 and SUBJECT.name not in payload_text(refused.stdout)


def payload_text(cli_json: str) -> str:
    """Every payload's metadata and data in the CLI's JSON history (base64 there), decoded and joined."""
    if not cli_json.strip():
        return ""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "payloads" in node and isinstance(node["payloads"], list):
                for payload in node["payloads"]:
                    values = [payload.get("data", ""), *payload.get("metadata", {}).values()]
                    found.extend(base64.b64decode(v).decode(errors="replace") for v in values)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(cli_json))
    return "\n".join(found)
