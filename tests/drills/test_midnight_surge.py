"""A small midnight surge: many deadlines due at one instant, escalated through a relay that refuses more than
its rate. Counts only (no timed assertion): each escalation sent once, the relay's limit never passed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import midnight_surge
from bench.breach_lateness import BENCH_AREA, CpuMeter
from bench.rig import dev_server
from workflows.rules.policy import AREAS

pytestmark = pytest.mark.timeout(240)


async def test_a_paced_surge_escalates_every_breach_once_within_the_relays_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(midnight_surge, "MARGIN_SECONDS", 15.0)
    sizes = midnight_surge.Sizes(cases=20, relay_rate=5, unpaced_cases=20)
    try:
        async with dev_server() as (server, client):
            surge = await midnight_surge.case_surge(
                client, sizes, CpuMeter(server), True, tmp_path / "relay.log"
            )
    finally:
        AREAS.pop(BENCH_AREA.area_id, None)
    assert surge.relay is not None
    assert len(surge.lateness) == 20  # every deadline escalated and its notice sent
    assert len(surge.relay.accepted_at) == 20 and surge.relay.taken_twice() == 0
    assert surge.relay.most_in_one_second() <= sizes.relay_rate
