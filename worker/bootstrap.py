"""The one place that builds the object graph: Temporal client, database engine, activities and worker.

Used by the worker (`worker.main`), the API and the tests alike, so all three talk to Temporal with the same
converter and to the database and the mail relay the same way.
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
from temporalio.converter import DataConverter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities import metrics
from activities.case_activities import CaseActivities
from activities.mailer import SmtpMailer
from store.db import make_engine, session_factory
from worker.converter import data_converter_for
from worker.settings import Settings
from workflows.case import MappaCaseWorkflow

# Activities are synchronous (blocking database and SMTP clients) and run on this many threads; the worker
# takes no more activity tasks than it has threads for.
ACTIVITY_THREADS = 16
# On shutdown, in-flight activities get this long to finish (an SMTP send times out sooner); the dev stack
# sends SIGKILL after 10 seconds.
GRACEFUL_SHUTDOWN = timedelta(seconds=8)

# Modules the workflow sandbox shares with the worker instead of re-importing for every run: the pure
# statutory core and message types (no I/O, no clock) and the heavy libraries they use. `workflows.case`
# itself is deliberately not listed: it stays sandboxed, so a non-deterministic call in it fails loudly.
SANDBOX_PASSTHROUGH = (
    "workflows.rules",
    "workflows.messages",
    "workflows.search_attributes",
    "pydantic",
    "holidays",
    "zoneinfo",
)


async def connect_client(
    settings: Settings, runtime: Runtime | None = None, data_converter: DataConverter | None = None
) -> Client:
    """A client of the configured namespace, speaking through the shared, encrypting data converter.

    Pass the worker's `build_runtime(settings)` to export its metrics; the API and tests leave it out. Without
    a payload encryption key this raises `worker.codec.CodecKeyError` before connecting.
    """
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter or data_converter_for(settings),
        runtime=runtime,
    )


def metrics_host(settings: Settings) -> str:
    """Where metrics endpoints listen: reachable from other containers (Prometheus) in production only."""
    return "0.0.0.0" if settings.is_production else "127.0.0.1"


def build_runtime(settings: Settings) -> Runtime:
    """A Temporal runtime serving the SDK's own metrics for Prometheus at :sdk_metrics_port/metrics."""
    address = f"{metrics_host(settings)}:{settings.sdk_metrics_port}"
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))


def serve_activity_metrics(settings: Settings, port: int | None = None) -> WSGIServer:
    """Serve what the activities count (activities/metrics.py) at :metrics_port/metrics, on a daemon thread
    (the worker's health check in docker-compose reads it). Stop it with `.shutdown()`."""
    server, _thread = start_http_server(
        settings.metrics_port if port is None else port, metrics_host(settings), registry=metrics.REGISTRY
    )
    return server


def build_engine(settings: Settings) -> Engine:
    return make_engine(settings.database_url)


def build_mailer(settings: Settings) -> SmtpMailer:
    return SmtpMailer(
        settings.smtp_host, settings.smtp_port, settings.smtp_sender, settings.smtp_timeout_seconds
    )


def build_activities(settings: Settings, engine: Engine) -> list[Callable[..., Any]]:
    """Every activity the case workflow calls, bound to this engine and the configured mail relay."""
    activities = CaseActivities(session_factory(engine), build_mailer(settings))
    return activities.all()


def build_worker(
    client: Client,
    settings: Settings,
    activities: Sequence[Callable[..., Any]],
    task_queue: str | None = None,
    activity_executor: Executor | None = None,
) -> Worker:
    """A worker for the case workflow and its activities on `task_queue` (default: settings.task_queue).

    Pass `activity_executor` to own its lifetime (shut it down after the worker); otherwise one is made.
    """
    executor = activity_executor or ThreadPoolExecutor(ACTIVITY_THREADS, "activity")
    # Take no more activity tasks than there are threads to run them (the SDK reads the same attribute).
    threads = getattr(executor, "_max_workers", ACTIVITY_THREADS)
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=[MappaCaseWorkflow],
        activities=list(activities),
        activity_executor=executor,
        max_concurrent_activities=threads,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*SANDBOX_PASSTHROUGH)
        ),
    )
