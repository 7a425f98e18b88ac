"""Demonstration cases, opened and moved along through the API exactly as agencies would.

Five fictional cases in Scotland and England and Wales, each at a different stage, two with breached
deadlines that appear at once on a live dev server (no clock tricks): a notification sent after its 3 working
days (met late, so recorded as breached), a custody referral later than 12 weeks before release, and an SONR
ending in four weeks whose 8-week notice was never given (breached and escalated as soon as the case opens).

Every request carries an Idempotency-Key: loading the demo twice opens nothing new.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from api.auth import issue_token, revoke_tokens
from core.database import session_factory
from workflows.rules.calendar import LONDON


@dataclass(frozen=True)
class DemoUser:
    key: str
    user_name: str
    role: str
    agency_id: str | None
    area: str | None


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(
        "lan-co", "demo: Morag Example", "co-ordinator", "lanarkshire-justice-social-work", "lanarkshire"
    ),
    DemoUser(
        "lan-chair", "demo: Supt Anne Placeholder", "chair", "police-scotland-lanarkshire", "lanarkshire"
    ),
    DemoUser(
        "lan-police", "demo: PC Lanarkshire", "agency-worker", "police-scotland-lanarkshire", "lanarkshire"
    ),
    DemoUser("lan-nhs", "demo: NHS Lanarkshire SPOC", "agency-worker", "nhs-lanarkshire", "lanarkshire"),
    DemoUser("lan-ops", "demo: Lanarkshire ops", "ops", None, "lanarkshire"),
    DemoUser("gla-co", "demo: Callum Example", "co-ordinator", "glasgow-justice-social-work", "glasgow"),
    DemoUser("sps", "demo: SPS case manager", "agency-worker", "sps", None),
    DemoUser(
        "lob-co",
        "demo: Eilidh Example",
        "co-ordinator",
        "edinburgh-justice-social-work",
        "lothian-and-borders",
    ),
    DemoUser(
        "lob-police",
        "demo: PC Edinburgh",
        "agency-worker",
        "police-scotland-edinburgh",
        "lothian-and-borders",
    ),
    DemoUser(
        "was-police",
        "demo: Wiltshire Police MAPPA",
        "agency-worker",
        "wiltshire-police",
        "wiltshire-and-swindon",
    ),
    DemoUser(
        "gma-co", "demo: Daniel Example", "co-ordinator", "probation-greater-manchester", "greater-manchester"
    ),
    DemoUser(
        "gma-probation",
        "demo: GM probation officer",
        "agency-worker",
        "probation-greater-manchester",
        "greater-manchester",
    ),
)


@dataclass(frozen=True)
class Step:
    user: str  # a DemoUser key
    path: str  # under /cases/{ref}/
    body: dict[str, Any]


@dataclass(frozen=True)
class DemoCase:
    name: str
    story: str
    opened_by: str
    opening: dict[str, Any]
    steps: tuple[Step, ...] = ()


@dataclass
class LoadedCase:
    name: str
    story: str
    case_ref: str
    status: dict[str, Any] = field(default_factory=dict)


def _subject(name: str, born: date, address: str) -> dict[str, Any]:
    return {"name": name, "date_of_birth": born.isoformat(), "address": address}


def demo_cases(today: date) -> tuple[DemoCase, ...]:
    def days(n: int) -> str:
        return (today + timedelta(days=n)).isoformat()

    signed = [
        {
            "agency": a,
            "name": f"Representative of {a}",
            "signed_confidentiality_statement": True,
            "can_commit_resources": True,
        }
        for a in (
            "police-scotland-lanarkshire",
            "lanarkshire-justice-social-work",
            "nhs-lanarkshire",
            "south-lanarkshire-council",
        )
    ]
    return (
        DemoCase(
            "lanarkshire-level-2",
            "Lanarkshire, category 1, level 2 under active management; the notification came late (breach).",
            "lan-police",
            {
                "area": "lanarkshire",
                "jurisdiction": "scotland",
                "category": 1,
                "lead_agency": "police-scotland-lanarkshire",
                "subject": _subject("Alex Demo", date(1984, 5, 17), "1 Example Street, Hamilton"),
                "notification": {
                    "notifying_agency": "police-scotland-lanarkshire",
                    "disposal_date": days(-10),
                    "recommended_level": 2,
                    "summary": "Community payback order with supervision; registered sex offender.",
                },
                "sonr_end_date": days(5 * 365),
            },
            (
                Step(
                    "lan-co", "screening", {"outcome": "referral-needed", "reason": "Risk to a known adult."}
                ),
                Step(
                    "lan-police",
                    "referrals",
                    {
                        "referring_agency": "police-scotland-lanarkshire",
                        "level_sought": 2,
                        "risk_summary": "High risk of serious harm to a known adult.",
                    },
                ),
                Step(
                    "lan-co",
                    "asp-screening",
                    {
                        "aged_16_or_over": True,
                        "unable_to_safeguard_own_interests": False,
                        "at_risk_of_harm": False,
                        "more_vulnerable_than_others": False,
                    },
                ),
                Step(
                    "lan-co",
                    "referral-decision",
                    {
                        "outcome": "accepted",
                        "level": 2,
                        "record_search_agencies": [
                            "police-scotland-lanarkshire",
                            "nhs-lanarkshire",
                            "south-lanarkshire-council",
                        ],
                    },
                ),
                Step(
                    "lan-police",
                    "record-searches",
                    {"agency": "police-scotland-lanarkshire", "relevant_information_found": True},
                ),
                Step("lan-nhs", "record-searches", {"agency": "nhs-lanarkshire"}),
                Step(
                    "lan-chair",
                    "meetings",
                    {
                        "held_on": days(0),
                        "chair_agency": "police-scotland-lanarkshire",
                        "chair_name": "Representative of police-scotland-lanarkshire",
                        "chair_grade": "senior-manager",
                        "invited": [a["agency"] for a in signed],
                        "attendees": signed,
                        "level_decided": 2,
                        "rmp_actions": [
                            {
                                "action_id": "A1",
                                "description": "Home visit and licence conditions check",
                                "owner_agency": "police-scotland-lanarkshire",
                                "due_date": days(14),
                            }
                        ],
                        "next_review_date": days(70),
                        "chair_record": [
                            "reasonable-steps-taken",
                            "information-evaluated",
                            "decisions-recorded",
                        ],
                    },
                ),
                Step(
                    "lan-co",
                    "minutes-circulations",
                    {
                        "meeting_id": "meeting-1",
                        "recipients": [a["agency"] for a in signed],
                    },
                ),
                Step("lan-co", "subject-informed", {"informed": True}),
            ),
        ),
        DemoCase(
            "glasgow-custody-level-3",
            "Glasgow, category 3 custody case referred for level 3 less than 12 weeks before release (breach).",
            "sps",
            {
                "area": "glasgow",
                "jurisdiction": "scotland",
                # A violent offender on licence is category 3 in Scotland (000); category 2 is the restricted patient.
                "category": 3,
                "previous_offence": True,
                "risk_of_serious_harm": True,
                "lead_agency": "sps",
                "route": "custody",
                "subject": _subject("Sam Demo", date(1979, 11, 2), "HMP Barlinnie"),
                "release_date": days(63),
                "referral": {
                    "referring_agency": "sps",
                    "level_sought": 3,
                    "level_2_cannot_deliver": "Approved accommodation at short notice and a police escort plan.",
                    "police_or_social_work_contacted": True,
                },
            },
        ),
        DemoCase(
            "lothian-sonr-ending",
            "Lothian and Borders, level 1; the SONR ends in four weeks and no notice was given (breach, escalated).",
            "lob-police",
            {
                "area": "lothian-and-borders",
                "jurisdiction": "scotland",
                "category": 1,
                "lead_agency": "police-scotland-edinburgh",
                "subject": _subject("Jo Demo", date(1990, 2, 28), "2 Sample Road, Edinburgh"),
                "notification": {"notifying_agency": "police-scotland-edinburgh", "disposal_date": days(-1)},
                "sonr_end_date": days(28),
            },
            (Step("lob-co", "screening", {"outcome": "level-1", "reason": "Managed by single agency."}),),
        ),
        DemoCase(
            "wiltshire-notification",
            "Wiltshire and Swindon, category 2, notified yesterday: awaiting the co-ordinator's screening.",
            "was-police",
            {
                "area": "wiltshire-and-swindon",
                "jurisdiction": "england-and-wales",
                "category": 2,
                "custody_months": 48,
                "subject_to_supervision": True,
                "lead_agency": "wiltshire-police",
                "subject": _subject("Chris Demo", date(1972, 8, 9), "3 Placeholder Lane, Swindon"),
                "notification": {
                    "notifying_agency": "wiltshire-police",
                    "disposal_date": days(-1),
                    "recommended_level": 2,
                },
            },
        ),
        DemoCase(
            "manchester-terrorism-level-3",
            "Greater Manchester, category 4, accepted at level 3: record searches out, MAPPP due in 5 working days.",
            "gma-probation",
            {
                "area": "greater-manchester",
                "jurisdiction": "england-and-wales",
                "category": 4,
                "lead_agency": "probation-greater-manchester",
                "subject": _subject("Pat Demo", date(1995, 1, 21), "4 Fictional Avenue, Salford"),
                "notification": {
                    "notifying_agency": "probation-greater-manchester",
                    "disposal_date": days(-1),
                    "recommended_level": 3,
                },
            },
            (
                Step(
                    "gma-co",
                    "screening",
                    {"outcome": "referral-needed", "reason": "Terrorism risk offender."},
                ),
                Step(
                    "gma-probation",
                    "referrals",
                    {
                        "referring_agency": "probation-greater-manchester",
                        "level_sought": 3,
                        "level_2_cannot_deliver": "Senior police and counter-terrorism resources at short notice.",
                    },
                ),
                Step(
                    "gma-co",
                    "referral-decision",
                    {
                        "outcome": "accepted",
                        "level": 3,
                        # 004 (England and Wales): why level 3, and not level 2.
                        "level_3_criteria": ["active-conferencing", "senior-representation"],
                        "record_search_agencies": ["greater-manchester-police", "dwp"],
                    },
                ),
            ),
        ),
    )


def issue_demo_tokens(engine: Engine) -> dict[str, str]:
    """A fresh token for each demo user (earlier demo tokens revoked)."""
    tokens: dict[str, str] = {}
    with session_factory(engine).begin() as session:
        for user in DEMO_USERS:
            revoke_tokens(session, user_name=user.user_name)
            tokens[user.key] = issue_token(
                session, user_name=user.user_name, agency_id=user.agency_id, role=user.role, area=user.area
            )
    return tokens


class DemoError(RuntimeError):
    pass


async def _call(
    http: httpx.AsyncClient, token: str, path: str, body: dict[str, Any], key: str
) -> dict[str, Any]:
    response = await http.post(
        path, json=body, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    )
    if response.status_code >= 400:
        raise DemoError(f"POST {path} answered {response.status_code}: {response.text}")
    result: dict[str, Any] = response.json()
    return result


async def load_demo(
    http: httpx.AsyncClient, tokens: dict[str, str], today: date | None = None
) -> list[LoadedCase]:
    loaded: list[LoadedCase] = []
    for case in demo_cases(today or datetime.now(LONDON).date()):
        opened = await _call(http, tokens[case.opened_by], "/cases", case.opening, f"demo-{case.name}-open")
        case_ref = opened["case_ref"]
        for number, step in enumerate(case.steps, start=1):
            await _call(
                http,
                tokens[step.user],
                f"/cases/{case_ref}/{step.path}",
                step.body,
                f"demo-{case.name}-{number}",
            )
        status = await http.get(
            f"/cases/{case_ref}", headers={"Authorization": f"Bearer {tokens[case.opened_by]}"}
        )
        loaded.append(LoadedCase(case.name, case.story, case_ref, status.json() if status.is_success else {}))
    return loaded


# Live tokens never go to standard output: `make demo` runs this under the dev stack, whose output is its log.
DEMO_TOKENS_FILE = Path("data/demo-tokens.json")


def write_demo_tokens(tokens: dict[str, str], path: Path = DEMO_TOKENS_FILE) -> Path:
    """Write the demo users' tokens to `path`, readable and writable by its owner only (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        user.key: {
            "user": user.user_name,
            "role": user.role,
            "agency": user.agency_id,
            "area": user.area,
            "token": tokens[user.key],
        }
        for user in DEMO_USERS
    }
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # a file left by an earlier run keeps its mode otherwise
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(document, out, indent=2)
        out.write("\n")
    return path


def print_summary(cases: list[LoadedCase], tokens_file: Path, api: str) -> None:
    print(f"Demo cases loaded through {api}:")
    for case in cases:
        summary = case.status.get("summary", {})
        print(
            f"  {case.case_ref}  stage {summary.get('stage', '?'):<22} level {summary.get('level') or '-'}  "
            f"open breaches {summary.get('open_breaches', '?')}"
        )
        print(f"      {case.story}")
    print(f"\nDemo tokens (development only; each run revokes the previous ones) are in {tokens_file},")
    print("readable by you only. Use one with:")
    lan_co = f"$(jq -r '.[\"lan-co\"].token' {tokens_file})"
    print(f'  curl -H "Authorization: Bearer {lan_co}" {api}/cases/<case ref>')
