"""The baseline workflow's worker as a process of its own, for the open-cases benchmark: the same runner,
activity threads, cache and SDK metrics as the production worker (`worker.main`), serving
`bench.baseline.BaselineCaseWorkflow`. Configured by the same MAPPA_* variables."""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

from temporalio.worker import Worker

from bench.baseline import BaselineCaseWorkflow, do_nothing
from bench.rig import baseline_worker_options
from core.bootstrap import build_runtime, connect_client
from core.settings import get_settings
from worker.assembly import ACTIVITY_THREADS, GRACEFUL_SHUTDOWN

log = logging.getLogger("worker")


async def run() -> None:
    settings = get_settings()
    client = await connect_client(settings, build_runtime(settings))
    executor = ThreadPoolExecutor(ACTIVITY_THREADS, "activity")
    worker = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[BaselineCaseWorkflow],
        activities=[do_nothing],
        activity_executor=executor,
        max_concurrent_activities=ACTIVITY_THREADS,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        **baseline_worker_options(),
    )
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    try:
        async with worker:
            log.info("worker polling task queue %s (baseline)", settings.task_queue)
            await stop.wait()
    finally:
        executor.shutdown(wait=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(run())
