"""The worker process: `python -m worker.main`.

Brings the database up to date, loads the agency directory, then runs the case workflow and its activities
until SIGINT or SIGTERM, letting in-flight activities finish.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from core.bootstrap import build_engine, build_runtime, connect_client
from core.codec import CodecKeyError
from core.converter import data_converter_for
from core.settings import Settings, get_settings
from store.directory import load_directory
from store.migrate import upgrade
from worker.assembly import ACTIVITY_THREADS, build_activities, build_worker, serve_activity_metrics

SEED_DIRECTORY = Path(__file__).resolve().parent.parent / "store" / "seed" / "directory.json"

log = logging.getLogger("worker")


def directory_file(settings: Settings) -> Path:
    """The directory to load: the configured file, or (in development only) the seed's example agencies."""
    if settings.directory_file.is_file():
        return settings.directory_file
    if settings.is_production:
        # The seed's addresses are fictional: in production a missing directory would lose every notice.
        raise SystemExit(f"refusing to start: agency directory {settings.directory_file} does not exist")
    log.warning(
        "no agency directory at %s; loading the example directory %s", settings.directory_file, SEED_DIRECTORY
    )
    return SEED_DIRECTORY


async def run(settings: Settings) -> None:
    try:
        # Before anything else: without a payload encryption key the worker must not start at all.
        data_converter = data_converter_for(settings)
    except CodecKeyError as error:
        raise SystemExit(f"refusing to start: {error}") from None
    engine = build_engine(settings)
    executor = ThreadPoolExecutor(ACTIVITY_THREADS, "activity")
    try:
        # Blocking start-up work, before the worker takes any task.
        await asyncio.to_thread(upgrade, engine)
        directory = directory_file(settings)
        loaded = await asyncio.to_thread(load_directory, engine, directory)
        log.info(
            "agency directory %s: %d agencies, %d role holders",
            directory,
            len(loaded.agencies),
            len(loaded.role_holders),
        )

        client = await connect_client(settings, build_runtime(settings), data_converter)
        metrics_server = serve_activity_metrics(settings)
        worker = build_worker(
            client, settings, build_activities(settings, engine), activity_executor=executor
        )

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)

        async with worker:
            log.info(
                "worker polling task queue %s on %s (namespace %s); metrics on port %d, SDK metrics on %d",
                settings.task_queue,
                settings.temporal_address,
                settings.temporal_namespace,
                settings.metrics_port,
                settings.sdk_metrics_port,
            )
            await stop.wait()
            log.info("stopping: letting running activities finish")
        metrics_server.shutdown()
    finally:
        executor.shutdown(wait=True)
        engine.dispose()


def main() -> None:
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
