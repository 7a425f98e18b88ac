"""Fictional import rows: cases at every stage, dated around a given day, for the import benchmark, the tests
and the example file (docs/import-example.csv). Every name and address is made up."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta
from typing import Any

from api.imports import ImportRow

COLUMNS = tuple(ImportRow.model_fields)

_FIRST = ("Alex", "Sam", "Jordan", "Robin", "Casey", "Morgan", "Jamie", "Taylor", "Drew", "Kit")
_LAST = ("Example", "Sample", "Specimen", "Placeholder", "Testcase", "Dummy", "Mock", "Fictional")
_STREETS = ("Example Street", "Sample Road", "Test Lane", "Demo Avenue", "Fiction Place")
_TOWNS = ("Hamilton", "Motherwell", "Airdrie", "Lanark", "Wishaw")
LANARKSHIRE = {
    "lead": ("police-scotland-lanarkshire", "lanarkshire-justice-social-work"),
    "searching": ("nhs-lanarkshire", "south-lanarkshire-council", "lanarkshire-housing"),
}


def fictional_row(n: int, today: date, rng: random.Random, area: str = "lanarkshire") -> dict[str, Any]:
    """Row `n`: a Lanarkshire case at one of seven positions in turn, with dates a few days to weeks ago."""
    lead = LANARKSHIRE["lead"][n % 2]
    row: dict[str, Any] = {
        "import_ref": f"LAN-{2019 + n % 7}-{n:05d}",
        "area": area,
        "category": 1 + n % 3,
        "lead_agency": lead,
        "subject_name": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
        "subject_date_of_birth": date(1960 + n % 40, 1 + n % 12, 1 + n % 28).isoformat(),
        "subject_address": f"{1 + n % 200} {rng.choice(_STREETS)}, {rng.choice(_TOWNS)}",
    }
    ago = lambda days: (today - timedelta(days=days)).isoformat()  # noqa: E731 - local shorthand
    position = n % 7
    if position == 0:
        row |= {"stage": "notification", "notified_on": ago(rng.randint(0, 6))}
    elif position == 1:
        row |= {"stage": "referral-due", "notified_on": ago(12), "screened_on": ago(rng.randint(0, 8))}
    elif position == 2:
        row |= {
            "stage": "referral",
            "referral_received_on": ago(rng.randint(0, 6)),
            "referring_agency": lead,
            "level_sought": 2,
        }
    elif position == 3:
        received = rng.randint(3, 30)
        row |= {
            "stage": "information-sharing",
            "level": 2,
            "referral_received_on": ago(received),
            "accepted_on": ago(received - 2),
            "searches_outstanding": ";".join(LANARKSHIRE["searching"][: 1 + n % 3]),
        }
    elif position in (4, 5):
        level = 2 if position == 4 else 3
        held = rng.randint(1, 30)
        weeks = 12 if level == 2 else 6
        review = today - timedelta(days=held) + timedelta(weeks=weeks) - timedelta(days=rng.randint(0, 7))
        owner = LANARKSHIRE["searching"][n % 3]
        row |= {
            "stage": "active-management",
            "level": level,
            "last_meeting_on": ago(held),
            "chair_agency": "lanarkshire-justice-social-work",
            "next_review_date": review.isoformat(),
            "rmp_actions": f"A{n % 10_000}-1 {owner} {(today + timedelta(days=rng.randint(max(-5, 1 - held), 40))).isoformat()}",
        }
        if level == 3:
            row["level_2_cannot_deliver"] = "fictional: out-of-hours monitoring"
        if n % 3 == 0:
            row["sonr_end_date"] = (today + timedelta(days=rng.randint(40, 4000))).isoformat()
        if row["category"] in (2, 3):
            row["licence_end_date"] = (today + timedelta(days=rng.randint(40, 2000))).isoformat()
    else:
        row |= {"stage": "level-1", "level": 1, "category": 1}
    return row


def fictional_rows(count: int, today: date, seed: int = 11) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [fictional_row(n, today, rng) for n in range(1, count + 1)]


def as_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()
