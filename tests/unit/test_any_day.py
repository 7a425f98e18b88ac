"""The suite passes on any day of the year: the tests whose dates are relative to today are run again with
"today" pinned to the days on which plain date arithmetic goes wrong (tests/clock.py).

`make test` sweeps two of the days that broke the suite before (the eve of Easter's bank holidays, a summer night
whose UTC date is the day before); `make test-nightly` (MAPPA_SWEEP=all) sweeps every day `sweep_days`
names. The tests on the dev server keep the real clock and derive every expected date from the calendar.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.clock import PINNED, pinned_instant, sweep_days
from workflows.rules.policy import area_policy

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"

# Modules whose dates are relative to today and whose clocks can be pinned: this process (time-machine) and
# the time-skipping test server (moved forward to the pinned day).
SWEPT = (
    "tests/unit/test_import_file.py",
    "tests/unit/test_import_reading.py",
    "tests/unit/test_named_agencies.py",
    "tests/integration/test_confidential_store.py",
    "tests/integration/test_import_summary.py",
    "tests/integration/test_weekly_digest.py",
    "tests/workflow/test_case_journeys.py",
    "tests/workflow/test_chronology_journey.py",
    "tests/workflow/test_escalation_routing.py",
    "tests/workflow/test_import_journeys.py",
    "tests/workflow/test_kept_timer.py",
    "tests/workflow/test_recall_journeys.py",
    "tests/workflow/test_meeting_journeys.py",
    "tests/workflow/test_rule_changes.py",
    "tests/workflow/test_safeguarding_journeys.py",
    "tests/workflow/test_timeline_journeys.py",
    "tests/workflow/test_transfer_journeys.py",
)
# Modules on the real clock: the dev server (a Go binary) cannot be pinned, so their expectations come from
# the calendar, never from plain arithmetic on today's date. Fixtures and helpers are listed with them.
ON_THE_REAL_CLOCK = (
    "tests/conftest.py",
    "tests/workflow/conftest.py",
    "tests/workflow/test_continue_as_new.py",
    "tests/integration/dev_cases.py",
    "tests/integration/test_encrypted_history.py",
    "tests/integration/test_search_attributes.py",
    "tests/drills/",
    "tests/e2e/",
)
READS_THE_CLOCK = re.compile(
    r"date\.today\(\)|datetime\.now\(|london_today\(\)|rig\.now\(\)|get_current_time\(\)"
)

# The days `make test` sweeps (two at a time, one process each); the nightly run sweeps them all.
EVERY_RUN = (
    "the day before Good Friday",
    "half past midnight in summer time (the UTC date is the day before)",
)


def test_every_test_that_reads_the_clock_is_swept_or_runs_on_the_real_clock() -> None:
    reading = {
        str(path.relative_to(ROOT))
        for path in TESTS.rglob("*.py")
        if READS_THE_CLOCK.search(path.read_text()) and path.name != Path(__file__).name
    }
    unplaced = sorted(
        module for module in reading if module not in SWEPT and not module.startswith(ON_THE_REAL_CLOCK)
    )
    assert unplaced == [], (
        f"dates relative to today in modules neither swept nor on the real clock: {unplaced}"
    )


def test_the_sweep_lands_on_the_days_that_break_date_arithmetic() -> None:
    scotland = area_policy("lanarkshire").calendar
    england = area_policy("wiltshire-and-swindon").calendar
    for after in (date(2026, 12, 4), date(2027, 4, 1), date(2028, 12, 31)):
        days = {name: instant.date() for name, instant in sweep_days(after).items()}
        assert all(day > after for day in days.values())
        eve = days["the day before Good Friday"]
        assert eve.weekday() == 3 and not scotland.is_working_day(eve + timedelta(days=1))
        assert not england.is_working_day(days["Easter Monday"])
        assert not scotland.is_working_day(days["2 January (a Scottish bank holiday)"])
        assert days["a Saturday"].weekday() == 5
        forward = sweep_days(after)["the Saturday before the clocks go forward"]
        assert (forward + timedelta(days=2)).utcoffset() != forward.utcoffset()
        night = sweep_days(after)["half past midnight in summer time (the UTC date is the day before)"]
        assert night.astimezone(UTC).date() == night.date() - timedelta(days=1)


def _days_to_sweep() -> list[tuple[str, datetime]]:
    everything = os.environ.get("MAPPA_SWEEP") == "all"
    days = sweep_days(date.today() + timedelta(days=1))
    return [(name, instant) for name, instant in days.items() if everything or name in EVERY_RUN]


def _run_pinned(day: str, instant: datetime) -> str | None:
    """The swept modules run with the clock pinned to `instant`: None if they pass, else what failed."""
    pinned = instant.strftime("%Y-%m-%dT%H:%M")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SWEPT],
        cwd=ROOT,
        env={**os.environ, PINNED: pinned},
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode == 0:
        return None
    summary = "\n".join(line for line in run.stdout.splitlines() if line.startswith(("FAILED", "ERROR")))
    return f"on {day} ({pinned} London time):\n{summary or run.stdout[-3000:]}"


@pytest.mark.timeout(1800)
@pytest.mark.skipif(pinned_instant() is not None, reason="already inside a pinned run")
def test_the_tests_relative_to_today_pass_on_every_troublesome_day() -> None:
    # Two days at a time: each pinned run is one process (and one test server per module) on one core.
    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = [f for f in pool.map(lambda d: _run_pinned(*d), _days_to_sweep()) if f is not None]
    assert failures == [], "\n\n".join(failures)
