"""The person key (core/person_key.py) and what the co-ordinator is shown of a person's other cases at screening
(workflows/rules/earlier_cases.py; 003 stage 1: the co-ordinator relies on the information with the referral)."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from core.codec import KeyRing
from core.person_key import identities, person_keys
from tests.unit.rules import test_case_properties as _profiles  # noqa: F401  (registers the profiles)
from workflows.rules.earlier_cases import EarlierCase, shown_to
from workflows.rules.records import CLOSED_STAGES, Stage

RING = KeyRing({"key-1": secrets.token_bytes(32)}, "key-1")
BORN = date(1980, 2, 29)


def test_case_spacing_accents_and_punctuation_do_not_make_another_person():
    assert identities("  Seán  O'Brien ", BORN) == identities("SEAN OBRIEN", BORN)
    assert person_keys(RING, "Seán O'Brien", BORN) == person_keys(RING, "sean obrien", BORN)
    assert person_keys(RING, "Sean O'Brien", BORN) != person_keys(RING, "Sean O'Brien", date(1980, 3, 1))


def test_the_key_names_nobody_and_another_ring_makes_another_key():
    [digest] = person_keys(RING, "Sean O'Brien", BORN)["key-1"]
    assert len(digest) == 64 and "brien" not in digest
    other = KeyRing({"key-1": secrets.token_bytes(32)}, "key-1")
    assert person_keys(other, "Sean O'Brien", BORN) != person_keys(RING, "Sean O'Brien", BORN)


def test_a_visor_reference_is_a_second_identity():
    assert len(person_keys(RING, "Sean O'Brien", BORN, "VIS-123 456")["key-1"]) == 2


def test_the_co_ordinator_sees_their_areas_earlier_case_in_full_and_another_areas_by_reference_only():
    exited = datetime(2024, 5, 1, tzinfo=UTC)
    shown = shown_to(
        "lanarkshire",
        [
            EarlierCase("MAPPA-LAN-2020-AAAAAA", "lanarkshire", Stage.EXITED, 2, exited, "SONR ended"),
            EarlierCase("MAPPA-GLA-2022-BBBBBB", "glasgow", Stage.ACTIVE_MANAGEMENT, 3),
        ],
    )
    assert (shown[0].still_open, shown[0].level, shown[0].exit_basis) == (False, 2, "SONR ended")
    assert (shown[1].still_open, shown[1].level, shown[1].stage) == (None, None, None)


EARLIER = st.lists(
    st.builds(
        EarlierCase,
        case_ref=st.from_regex(r"MAPPA-LAN-20[0-9]{2}-[A-Z]{6}", fullmatch=True),
        area=st.sampled_from(["lanarkshire", "glasgow"]),
        stage=st.one_of(st.none(), st.sampled_from(list(Stage))),
        level=st.one_of(st.none(), st.sampled_from([1, 2, 3])),
    ),
    max_size=6,
)


@given(EARLIER)
def test_no_earlier_case_with_obligations_still_open_is_shown_as_closed(earlier: list[EarlierCase]):
    """Across a re-referral nothing is silently lost: every linked case is shown, in order, and one whose stage
    still owes something (exiting included, or not yet in the ledger) is shown open to its own area."""
    shown = shown_to("lanarkshire", earlier)
    assert [s.case_ref for s in shown] == [e.case_ref for e in earlier]
    for case, seen in zip(earlier, shown, strict=True):
        if case.area == "lanarkshire":
            assert seen.still_open is (case.stage is None or case.stage not in CLOSED_STAGES)
        else:
            assert seen.still_open is None and seen.level is None
