"""The worker's own object graph: the case workflow, the weekly digest and the import, their activities (database and mail
relay) and the worker.

The client, converter and engine it runs on come from `core.bootstrap`; the worker (`worker.main`), the
benchmarks and the tests assemble workers here, so all of them run the workflow the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import timedelta
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities import metrics
from activities.case_activities import CaseActivities
from activities.digest import DigestActivities
from activities.mailer import SmtpMailer
from api.import_jobs import ImportActivities
from core.bootstrap import metrics_host
from core.converter import key_ring_for
from core.database import session_factory
from core.settings import Settings
from workflows.case import MappaCaseWorkflow
from workflows.digest import WeeklyDigestWorkflow
from workflows.import_summary import ImportSummaryWorkflow
from workflows.imports import MappaImportWorkflow

# Activities are synchronous (blocking database and SMTP clients) and run on this many threads; the worker
# takes no more activity tasks than it has threads for.
ACTIVITY_THREADS = 16
# On shutdown, in-flight activities get this long to finish (an SMTP send times out sooner); the dev stack
# sends SIGKILL after 10 seconds.
GRACEFUL_SHUTDOWN = timedelta(seconds=8)

# Modules the workflow sandbox shares with the worker instead of re-importing for every run: the pure
# statutory core and message types (no I/O, no clock) and the heavy libraries they use.
SANDBOX_PASSTHROUGH_STRICT = (
    "workflows.rules",
    "workflows.messages",
    "workflows.search_attributes",
    "pydantic",
    "holidays",
    "zoneinfo",
)
# The worker also shares the workflow modules themselves (`workflows.case` and the area workflows). Re-imported
# in every run's sandbox, `workflows.case` cost each cold case (a worker restart, a cache eviction) half its
# replay's CPU (a 23-event case: 43 ms against 21 ms) and each cached case about 57 KiB (issue 19). What the
# sandbox gave it, a non-deterministic call failing loudly, the workflow tests keep: they run the workflows
# with SANDBOX_PASSTHROUGH_STRICT (`build_worker(..., strict_sandbox=True)`), so every journey in
# tests/workflow executes `workflows.case` under the sandbox's restrictions.
SANDBOX_PASSTHROUGH = ("workflows", "pydantic", "holidays", "zoneinfo")


def sandbox_runner(strict: bool = False, also: tuple[str, ...] = ()) -> SandboxedWorkflowRunner:
    """The worker's sandbox; `strict` re-imports the workflow modules in each run's sandbox (for tests); `also`
    passes more modules through (a benchmark's baseline workflow, shared as ours is)."""
    modules = (*(SANDBOX_PASSTHROUGH_STRICT if strict else SANDBOX_PASSTHROUGH), *also)
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*modules)
    )


def serve_activity_metrics(settings: Settings, port: int | None = None) -> WSGIServer:
    """Serve what the activities count (activities/metrics.py) at :metrics_port/metrics, on a daemon thread
    (the worker's health check in docker-compose reads it). Stop it with `.shutdown()`."""
    server, _thread = start_http_server(
        settings.metrics_port if port is None else port, metrics_host(settings), registry=metrics.REGISTRY
    )
    return server


def build_mailer(settings: Settings) -> SmtpMailer:
    return SmtpMailer(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_sender,
        settings.smtp_timeout_seconds,
        rate_per_second=settings.smtp_rate_per_second,
    )


def build_activities(settings: Settings, engine: Engine) -> list[Callable[..., Any]]:
    """Every activity the case, digest and import workflows call, bound to this engine and the configured mail
    relay (the import's starts its cases on `settings.task_queue`)."""
    sessions, mailer = session_factory(engine), build_mailer(settings)
    return (
        CaseActivities(sessions, mailer, keys=key_ring_for(settings)).all()
        + DigestActivities(sessions, mailer).all()
        + ImportActivities(sessions, settings).all()
    )


def build_worker(
    client: Client,
    settings: Settings,
    activities: Sequence[Callable[..., Any]],
    task_queue: str | None = None,
    activity_executor: Executor | None = None,
    strict_sandbox: bool = False,
) -> Worker:
    """A worker for the case workflow and its activities on `task_queue` (default: settings.task_queue).

    Pass `activity_executor` to own its lifetime (shut it down after the worker); otherwise one is made.
    `strict_sandbox` runs the workflow modules under the sandbox's restrictions (the workflow tests do).
    """
    executor = activity_executor or ThreadPoolExecutor(ACTIVITY_THREADS, "activity")
    # Take no more activity tasks than there are threads to run them (the SDK reads the same attribute).
    threads = getattr(executor, "_max_workers", ACTIVITY_THREADS)
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=[MappaCaseWorkflow, WeeklyDigestWorkflow, MappaImportWorkflow, ImportSummaryWorkflow],
        activities=list(activities),
        activity_executor=executor,
        max_concurrent_activities=threads,
        max_cached_workflows=settings.workflow_cache_size,
        max_concurrent_workflow_tasks=settings.workflow_task_slots,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        workflow_runner=sandbox_runner(strict_sandbox),
    )
