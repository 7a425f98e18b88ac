"""`python -m bench` (what `make bench` runs): every benchmark at small sizes, a table, bench/results/latest.json.

python -m bench                    # small sizes: a few minutes on 2 cores
python -m bench --full             # the issue's sizes (or MAPPA_BENCH_FULL=1): much longer
python -m bench --only lifecycle,ops-query
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import (
    api_overhead,
    breach_lateness,
    hostile_bodies,
    imports,
    lifecycle,
    lifelong_case,
    midnight_surge,
    open_cases,
    ops_query,
)
from bench.report import RESULTS, Result, code_version, table, write
from bench.rig import use_temporary_codec_key

BENCHMARKS: dict[str, Callable[[bool], Any]] = {
    "lifecycle": lifecycle.run,
    "api-overhead": api_overhead.run,
    "breach-lateness": breach_lateness.run,
    "open-cases": open_cases.run,
    "ops-query": ops_query.run,
    "lifelong-case": lifelong_case.run,
    "import": imports.run,
    "hostile-bodies": hostile_bodies.run,
    "midnight-surge": midnight_surge.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", default=os.environ.get("MAPPA_BENCH_FULL") == "1")
    parser.add_argument("--only", help=f"comma-separated, of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    use_temporary_codec_key()
    command = shlex.join(["python", "-m", "bench", *(argv if argv is not None else sys.argv[1:])])
    extra = {"sizes": "full" if args.full else "small", "code": code_version()}
    results: list[Result] = []
    for name in names:
        print(f"== {name} ({'full' if args.full else 'small'} sizes)", flush=True)
        started = time.perf_counter()
        outcome = BENCHMARKS[name](args.full)
        result: Result = asyncio.run(outcome) if inspect.iscoroutine(outcome) else outcome
        result.seconds = time.perf_counter() - started
        results.append(result)
        print(table([result]), *result.notes, f"({result.seconds:.0f} s)", sep="\n", flush=True)
        # Written after each benchmark, so an interrupted run keeps what it measured.
        write(results, command, args.output, extra)
    print("\n" + table(results))
    print(f"\nwritten to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
