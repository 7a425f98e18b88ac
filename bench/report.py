"""What a benchmark reports, the machine it ran on, the table printed and the JSON written."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from worker.binaries import temporal_cli_path

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Figure:
    """One measured figure: ours, the baseline it is compared with (if any) and the target."""

    name: str
    ours: float
    unit: str
    baseline: float | None = None
    baseline_name: str | None = None
    target: str | None = None
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.ours / self.baseline


@dataclass
class Result:
    name: str
    title: str
    parameters: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "parameters": self.parameters,
            "seconds": round(self.seconds, 1),
            "figures": [
                {**{k: _round(v) for k, v in asdict(f).items()}, "ratio": _round(f.ratio)}
                for f in self.figures
            ],
            "notes": self.notes,
        }


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.4g}")
    return value


def percentile(samples: list[float], p: float) -> float:
    """The p-th percentile (0-100), by linear interpolation between closest ranks."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def code_version() -> str:
    """The commit measured, and whether the work tree differed from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=RESULTS.parent,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=RESULTS.parent,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' with uncommitted changes' if dirty else ''}"


def machine() -> dict[str, Any]:
    meminfo = dict(
        line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    try:
        temporal = subprocess.run(
            [str(temporal_cli_path()), "--version"], capture_output=True, text=True, timeout=20
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as error:
        temporal = f"unknown ({error})"
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(int(meminfo["MemTotal"].split()[0]) / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "temporalio": version("temporalio"),
        "temporal_cli": temporal,
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": version("sqlalchemy"),
    }


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if value != value:  # NaN
        return "n/a"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def table(results: list[Result]) -> str:
    rows = [("benchmark", "figure", "ours", "baseline", "ratio", "target", "met")]
    for result in results:
        for f in result.figures:
            baseline = fmt(f.baseline, f.unit) if f.baseline is not None else "-"
            if f.baseline_name and f.baseline is not None:
                baseline += f" ({f.baseline_name})"
            met = "-" if f.met is None else ("yes" if f.met else "NO")
            ratio = f"{f.ratio:.2f}×" if f.ratio is not None else "-"
            rows.append((result.name, f.name, fmt(f.ours, f.unit), baseline, ratio, f.target or "-", met))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write(results: list[Result], command: str, path: Path, extra: dict[str, Any] | None = None) -> None:
    """Write the results as JSON. A partial run (--only) keeps the other benchmarks' last figures."""
    previous: dict[str, Any] = {}
    if path.exists():
        try:
            previous = json.loads(path.read_text()).get("benchmarks", {})
        except (ValueError, AttributeError):
            previous = {}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    code = code_version()
    latest = {
        r.name: {**r.as_json(), "ran_at": now, "command": command, "code": code, **(extra or {})}
        for r in results
    }
    document = {
        "written_at": now,
        "machine": machine(),
        "benchmarks": {**previous, **latest},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
