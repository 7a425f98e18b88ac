"""The one place that builds what every process shares: the Temporal client (with the encrypting converter),
the SDK runtime that exports metrics, and the database engine.

Used by the worker (`worker.main`, which adds the workflow and activities in `worker.assembly`), the API, the
CLI, the benchmarks and the tests alike, so all of them talk to Temporal and the database the same way.
"""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RetryConfig

from core.converter import data_converter_for
from core.database import make_engine
from core.settings import Settings


async def connect_client(
    settings: Settings,
    runtime: Runtime | None = None,
    data_converter: DataConverter | None = None,
    retry_config: RetryConfig | None = None,
) -> Client:
    """A client of the configured namespace, speaking through the shared, encrypting data converter.

    Pass the worker's `build_runtime(settings)` to export its metrics; the API and tests leave it out. The API
    passes a `retry_config` that gives up on an unanswered call sooner than the SDK's 10 s. Without
    a payload encryption key this raises `core.codec.CodecKeyError` before connecting.
    """
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter or data_converter_for(settings),
        runtime=runtime,
        retry_config=retry_config,
    )


def metrics_host(settings: Settings) -> str:
    """Where metrics endpoints listen: reachable from other containers (Prometheus) in production only."""
    return "0.0.0.0" if settings.is_production else "127.0.0.1"


def build_runtime(settings: Settings) -> Runtime:
    """A Temporal runtime serving the SDK's own metrics for Prometheus at :sdk_metrics_port/metrics."""
    address = f"{metrics_host(settings)}:{settings.sdk_metrics_port}"
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))


def build_engine(settings: Settings) -> Engine:
    return make_engine(settings.database_url)
