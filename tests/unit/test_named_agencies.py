"""The directory decides which agencies a case may name (the one check the API and the import share), and an
id an agency chooses that reaches plaintext cannot carry a name."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.imports import check_file
from bench.import_rows import as_csv, fictional_rows
from store.directory import SEED_DIRECTORY, AgencyDirectory, DirectoryFile, DirectoryRefusal
from workflows.rules import events as ev
from workflows.rules.policy import AREAS, area_policy

SEED = DirectoryFile.read(SEED_DIRECTORY)
DIRECTORY = AgencyDirectory.of_file(SEED)
NOW = datetime.now(UTC)


def allowed_as_lead(agency_id: str, area_id: str) -> bool:
    """What the directory says, read independently of the check: in the area (or national in its jurisdiction),
    and a responsible authority there."""
    entry = next((a for a in SEED.agencies if a.agency_id == agency_id), None)
    if entry is None:
        return False
    policy = area_policy(area_id)
    works_there = policy.area.jurisdiction in entry.jurisdictions if entry.national else entry.area == area_id
    return works_there and policy.may_lead(entry.kind)


agency_ids = st.one_of(
    st.sampled_from([a.agency_id for a in SEED.agencies]),
    st.from_regex(r"^[a-z0-9][a-z0-9-]{1,20}$", fullmatch=True),
    st.just("co-ordinator"),
)


@given(agency=agency_ids, area=st.sampled_from(list(AREAS)))
def test_an_import_row_names_only_a_lead_agency_the_directory_allows_in_its_area(
    agency: str, area: str
) -> None:
    row = next(r for r in fictional_rows(8, NOW.date()) if r["stage"] == "notification")
    row = {**row, "area": area, "lead_agency": agency, "import_ref": "X-1", "category": 1}
    row.update({k: "" for k in ("referring_agency", "chair_agency", "searches_outstanding", "rmp_actions")})
    check = check_file(as_csv([row]), "csv", NOW, directory=DIRECTORY)
    refused_for_lead = [e for e in check.errors if e.field == "lead_agency"]
    if allowed_as_lead(agency, area):
        assert refused_for_lead == []
    else:
        assert len(refused_for_lead) == 1 and agency in refused_for_lead[0].message


@given(
    agency=agency_ids, area=st.sampled_from([a for a, v in AREAS.items() if area_policy(a).policy.asp_link])
)
def test_only_an_asp_chair_the_directory_lists_for_the_area_is_named(agency: str, area: str) -> None:
    named = ev.AspChairNamed(asp_chair_agency=agency)
    entry = next((a for a in SEED.agencies if a.agency_id == agency), None)
    if entry is not None and entry.asp_chair and entry.area == area:
        DIRECTORY.check_named(area, named)
    else:
        with pytest.raises(DirectoryRefusal) as refused:
            DIRECTORY.check_named(area, named)
        assert refused.value.field == "asp_chair_agency"


def test_the_probes_leads_are_refused_with_the_directorys_own_error() -> None:
    for lead in ("no-such-agency", "police-scotland-glasgow", "wiltshire-police", "hmpps-prison", "dwp"):
        with pytest.raises(DirectoryRefusal) as refused:
            DIRECTORY.check_agency("lanarkshire", "lead_agency", lead)
        assert lead in refused.value.message
    DIRECTORY.check_agency("lanarkshire", "lead_agency", "sps")  # SPS: national, in Scotland, a prison


@given(
    name=st.from_regex(r"^[A-Za-z]{2,12}(-[A-Za-z]{2,12})?$", fullmatch=True),
    number=st.integers(0, 99),
)
def test_an_rmp_action_id_that_holds_a_word_is_refused_before_it_reaches_plaintext(
    name: str, number: int
) -> None:
    for action_id in (name, f"{name}{number}", f"{number}-{name}"[:32]):
        action = ev.RmpActionSet(
            action_id=action_id, description="x", owner_agency="nhs-lanarkshire", due_date=date(2027, 1, 4)
        )
        refused = ev.ids_outside_pattern(action)
        assert [r.field for r in refused] == ["action_id"]


@given(
    letter=st.sampled_from(["", "A", "r"]), number=st.integers(0, 9999), sub=st.integers(0, 999) | st.none()
)
def test_an_rmp_action_id_of_a_letter_and_numbers_is_accepted(
    letter: str, number: int, sub: int | None
) -> None:
    action_id = f"{letter}{number}" + ("" if sub is None else f"-{sub}")
    action = ev.RmpActionSet(
        action_id=action_id,
        description="x",
        owner_agency="nhs-lanarkshire",
        due_date=date(2027, 1, 4) + timedelta(days=1),
    )
    assert ev.ids_outside_pattern(action) == []
