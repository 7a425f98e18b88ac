"""The dev stack survives a child's over-long output line and leaves no child running however it ends.

Found by a hostile client: a 79 KB query string made uvicorn log a 79 KB line; the dev stack's line reader
failed on it ("Separator is found, but chunk is longer than limit"), the API's output stopped, and SIGTERM then
crashed the stack with the Temporal server, mail relay and worker still running. Here the real supervision
code (`worker.devstack.run`, `Child`) runs over real child processes (tests/integration/devstack_stand_ins.py).
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.devstack import MAX_LINE_BYTES, LineCutter

REPO_ROOT = Path(__file__).resolve().parents[2]


class Harness:
    def __init__(self, mode: str, *extra: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.devstack_stand_ins", mode, *extra],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.lines: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float = 30) -> bytes:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if text.encode() in line:
                    return line
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} in the output: {b''.join(self.lines)[-2000:]!r}")

    def pids(self) -> list[int]:
        children = [int(pid) for pid in self.wait_for("[harness] pids ").split()[2:]]
        grandchild = int(self.wait_for("[api] grandchild ").split()[2])
        return [*children, grandchild]

    def finish(self, timeout: float = 30) -> int:
        code = self.process.wait(timeout)
        self._reader.join(5)
        return code


def running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting for a parent that never reaps it counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def assert_all_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(running(pid) for pid in pids):
        time.sleep(0.1)
    assert [pid for pid in pids if running(pid)] == []


def assert_long_line_cut_and_output_went_on(harness: Harness) -> None:
    cut = harness.wait_for("GET /deadlines/calculate?q=xxx")
    assert b"more bytes cut" in cut
    assert len(cut) < MAX_LINE_BYTES + 200
    harness.wait_for("[api] after the long line")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_after_an_over_long_line_stops_every_child_and_the_stack_exits_cleanly(
    signum: signal.Signals,
) -> None:
    harness = Harness("wait")
    try:
        pids = harness.pids()
        assert_long_line_cut_and_output_went_on(harness)
        harness.process.send_signal(signum)
        assert harness.finish() == 0
        harness.wait_for("[devstack] worker ignored SIGTERM")
        harness.wait_for("[devstack] stopped")
        assert_all_gone(pids)
    finally:
        harness.process.kill()


def test_an_unexpected_error_in_the_stack_still_stops_every_child(tmp_path: Path) -> None:
    go = tmp_path / "go"
    harness = Harness("fail", str(go))
    try:
        pids = harness.pids()
        assert_long_line_cut_and_output_went_on(harness)
        go.touch()
        assert harness.finish() != 0
        harness.wait_for("ValueError: an unexpected error in the dev stack")
        assert_all_gone(pids)
    finally:
        harness.process.kill()


def test_when_one_child_dies_the_others_are_stopped_and_the_stack_exits_non_zero() -> None:
    harness = Harness("child-dies")
    try:
        pids = harness.pids()
        assert harness.finish() == 1
        assert_all_gone(pids)
    finally:
        harness.process.kill()


@given(
    st.lists(st.binary(max_size=300).map(lambda b: b.replace(b"\n", b"")), max_size=8),
    st.lists(st.integers(min_value=0), max_size=10),
    st.integers(min_value=1, max_value=120),
)
def test_lines_come_out_whole_or_cut_at_the_limit_however_the_output_is_read(
    lines: list[bytes], cuts: list[int], limit: int
) -> None:
    output = b"".join(line + b"\n" for line in lines)
    points = sorted({0, len(output), *(c % (len(output) + 1) for c in cuts)})
    cutter = LineCutter(limit)
    seen: list[str] = []
    for a, b in itertools.pairwise(points):
        seen += cutter.feed(output[a:b])
    seen += cutter.end()
    expected = []
    for line in lines:
        kept = line[:limit].decode(errors="replace").rstrip()
        expected.append(kept + (f" [... {len(line) - limit} more bytes cut]" if len(line) > limit else ""))
    assert seen == expected
