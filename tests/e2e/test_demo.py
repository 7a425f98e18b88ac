"""`mappa demo load` through the API on the real dev server: realistic cases at different stages, with breaches."""

from __future__ import annotations

import pytest

from cli.demo import issue_demo_tokens, load_demo
from tests.e2e.api_rig import ApiRig

pytestmark = pytest.mark.timeout(120)


async def test_the_demo_opens_cases_at_different_stages_with_breaches_and_loads_once(api_rig: ApiRig) -> None:
    tokens = issue_demo_tokens(api_rig.engine)
    cases = {case.name: case for case in await load_demo(api_rig.http, tokens)}

    def summary(name: str) -> dict[str, object]:
        result: dict[str, object] = cases[name].status["summary"]
        return result

    assert {name: (summary(name)["stage"], summary(name)["level"]) for name in cases} == {
        "lanarkshire-level-2": ("active-management", 2),
        "glasgow-custody-level-3": ("referral", None),
        "lothian-sonr-ending": ("level-1", 1),
        "wiltshire-notification": ("notification", None),
        "manchester-terrorism-level-3": ("information-sharing", 3),
    }
    # The SONR notice was due 8 weeks before an end 4 weeks away: breached and escalated at once.
    assert summary("lothian-sonr-ending")["open_breaches"] == 1
    # Late on arrival: met, but recorded as breached.
    deadlines = {d["deadline_id"]: d for d in cases["lanarkshire-level-2"].status["deadlines"]}
    assert deadlines["notification"]["state"] == "met" and deadlines["notification"]["breached_at"]
    custody = {d["deadline_id"]: d for d in cases["glasgow-custody-level-3"].status["deadlines"]}
    assert custody["custody-referral"]["state"] == "met" and custody["custody-referral"]["breached_at"]

    again = await load_demo(api_rig.http, issue_demo_tokens(api_rig.engine))
    assert {case.name: case.case_ref for case in again} == {
        name: case.case_ref for name, case in cases.items()
    }
