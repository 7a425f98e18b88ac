"""`python -m tests.integration.devstack_stand_ins MODE`: the dev stack's supervision (`worker.devstack.run`)
over stand-ins for its children, real processes that behave as the hostile case did.

- "temporal" prints a line and sleeps;
- "api" prints a 200 KB line (as uvicorn logs a 79 KB query string), then a line after it, and starts a
  grandchild of its own that sleeps;
- "worker" ignores SIGTERM, so the stack must kill it.

MODE "wait" runs until signalled; "fail" raises an unexpected error once the "api" has printed its line after
the long one; "child-dies" has "temporal" exit by itself. The harness prints `pids ...` (every child and the
grandchild) for the test to check that none outlives it.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from worker import devstack

LONG_LINE_BYTES = 200_000

API = f"""
import subprocess, sys, time
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print("grandchild", grandchild.pid, flush=True)
print("GET /deadlines/calculate?q=" + "x" * {LONG_LINE_BYTES}, flush=True)
print("after the long line", flush=True)
time.sleep(600)
"""
TEMPORAL = "import sys, time; print('temporal up', flush=True); time.sleep(float(sys.argv[1]))"
WORKER = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('worker ignoring SIGTERM', flush=True); time.sleep(600)"
)


async def stack(mode: str, children: list[devstack.Child]) -> int:
    temporal_seconds = "1.5" if mode == "child-dies" else "600"
    children.append(await devstack.Child.start("temporal", sys.executable, "-c", TEMPORAL, temporal_seconds))
    children.append(await devstack.Child.start("worker", sys.executable, "-c", WORKER))
    children.append(await devstack.Child.start("api", sys.executable, "-c", API))
    devstack.say("harness", "pids " + " ".join(str(child.process.pid) for child in children))
    if mode == "fail":
        while not Path(sys.argv[2]).exists():  # the test's word that it read the line after the long one
            await asyncio.sleep(0.05)
        raise ValueError("an unexpected error in the dev stack")
    exits = [asyncio.create_task(child.process.wait()) for child in children]
    await asyncio.wait(exits, return_when=asyncio.FIRST_COMPLETED)
    return 1


def main() -> int:
    devstack.STOP_GRACE_SECONDS = 1.0
    mode = sys.argv[1]
    return asyncio.run(devstack.run(lambda children: stack(mode, children)))


if __name__ == "__main__":
    sys.exit(main())
