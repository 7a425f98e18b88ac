"""The agency directory on SQLite and PostgreSQL: who receives a notice addressed to an agency or a role."""

from datetime import date

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from store.directory import (
    AgencyEntry,
    DirectoryFile,
    NoRecipient,
    RoleHolderEntry,
    load_directory,
    recipient_addresses,
    resolve_recipient,
)
from store.models import Agency, AgencyKind, DirectoryRole, RoleHolder
from workflows.rules.policy import AREAS

SEED_DIRECTORY = "store/seed/directory.json"
LANARKSHIRE_CO_ORDINATOR = "lanarkshire.coordinator@mappa-scotland.example.gov.uk"
LANARKSHIRE_ACTING = "lanarkshire.deputy@mappa-scotland.example.gov.uk"
# The seed's Lanarkshire co-ordinator is on leave from 21 Dec 2026 to 8 Jan 2027, covered by an acting holder.
ORDINARY_DAY = date(2026, 11, 23)
DURING_LEAVE = date(2026, 12, 29)


@pytest.fixture
def directory(engine: Engine) -> Engine:
    load_directory(engine, SEED_DIRECTORY)
    return engine


def test_a_notice_for_an_agency_goes_to_its_single_point_of_contact(directory: Engine) -> None:
    with Session(directory) as session:
        assert recipient_addresses(session, "lanarkshire", "nhs-lanarkshire", ORDINARY_DAY) == [
            "mappa.spoc@nhs-lanarkshire.example.gov.uk"
        ]
        # A national agency serves every area of its jurisdiction.
        assert recipient_addresses(session, "lanarkshire", "sps", ORDINARY_DAY) == [
            "mappa.spoc@sps.example.gov.uk"
        ]


def test_co_ordinator_notices_go_to_the_acting_co_ordinator_during_an_absence(directory: Engine) -> None:
    with Session(directory) as session:
        assert recipient_addresses(session, "lanarkshire", "co-ordinator", ORDINARY_DAY) == [
            LANARKSHIRE_CO_ORDINATOR
        ]
        assert recipient_addresses(session, "lanarkshire", "co-ordinator", DURING_LEAVE) == [
            LANARKSHIRE_ACTING
        ]
        assert recipient_addresses(session, "lanarkshire", "co-ordinator", date(2027, 1, 9)) == [
            LANARKSHIRE_CO_ORDINATOR
        ]


def test_a_notice_for_an_agency_not_in_the_directory_goes_to_the_co_ordinator_saying_so(
    directory: Engine,
) -> None:
    with Session(directory) as session:
        recipient = resolve_recipient(session, "lanarkshire", "east-kilbride-youth-team", ORDINARY_DAY)
    assert recipient.addresses == [LANARKSHIRE_CO_ORDINATOR]
    assert recipient.note is not None
    assert "east-kilbride-youth-team" in recipient.note and "not in the MAPPA directory" in recipient.note


def test_a_notice_for_a_deactivated_agency_goes_to_the_co_ordinator(directory: Engine) -> None:
    load_directory(
        directory,
        DirectoryFile(
            agencies=[
                AgencyEntry(
                    agency_id="lanarkshire-housing",
                    name="Lanarkshire Housing Services",
                    kind=AgencyKind.HOUSING,
                    area="lanarkshire",
                    spoc_email="housing.mappa@lanarkshire-housing.example.gov.uk",
                    active=False,
                )
            ]
        ),
    )
    with Session(directory) as session:
        recipient = resolve_recipient(session, "lanarkshire", "lanarkshire-housing", ORDINARY_DAY)
    assert recipient.addresses == [LANARKSHIRE_CO_ORDINATOR]
    assert recipient.note is not None and "not active" in recipient.note


def test_with_no_chair_in_post_the_co_ordinator_receives_the_chairs_notices(engine: Engine) -> None:
    load_directory(
        engine,
        DirectoryFile(
            role_holders=[
                RoleHolderEntry(
                    area="glasgow",
                    role=DirectoryRole.CO_ORDINATOR,
                    name="Callum Example",
                    email="glasgow.coordinator@mappa-scotland.example.gov.uk",
                    valid_from=date(2024, 4, 1),
                ),
                RoleHolderEntry(
                    area="glasgow",
                    role=DirectoryRole.CHAIR,
                    name="Former Chair",
                    email="glasgow.former-chair@mappa-scotland.example.gov.uk",
                    valid_from=date(2024, 4, 1),
                    valid_to=date(2026, 6, 30),
                ),
            ]
        ),
    )
    with Session(engine) as session:
        recipient = resolve_recipient(session, "glasgow", "chair", ORDINARY_DAY)
    assert recipient.addresses == ["glasgow.coordinator@mappa-scotland.example.gov.uk"]
    assert recipient.note is not None and "nobody holds that role" in recipient.note


def test_a_breach_of_the_co_ordinators_own_deadline_with_no_chair_in_post_goes_to_the_deputy(
    engine: Engine,
) -> None:
    holders = [
        ("co-ordinator", DirectoryRole.CO_ORDINATOR),
        ("deputy", DirectoryRole.DEPUTY_CO_ORDINATOR),
    ]
    load_directory(
        engine,
        DirectoryFile(
            role_holders=[
                RoleHolderEntry(
                    area="glasgow",
                    role=role,
                    name=f"Glasgow {who}",
                    email=f"glasgow.{who}@mappa-scotland.example.gov.uk",
                    valid_from=date(2024, 4, 1),
                )
                for who, role in holders
            ]
        ),
    )
    with Session(engine) as session:
        recipient = resolve_recipient(session, "glasgow", "chair", ORDINARY_DAY, passes_over=["co-ordinator"])
    assert recipient.addresses == ["glasgow.deputy@mappa-scotland.example.gov.uk"]
    assert recipient.note is not None and "deputy-co-ordinator" in recipient.note


def test_with_neither_chair_nor_deputy_the_breach_reaches_the_co_ordinator_rather_than_nobody(
    engine: Engine,
) -> None:
    load_directory(
        engine,
        DirectoryFile(
            role_holders=[
                RoleHolderEntry(
                    area="glasgow",
                    role=DirectoryRole.CO_ORDINATOR,
                    name="Glasgow co-ordinator",
                    email="glasgow.co-ordinator@mappa-scotland.example.gov.uk",
                    valid_from=date(2024, 4, 1),
                )
            ]
        ),
    )
    with Session(engine) as session:
        recipient = resolve_recipient(session, "glasgow", "chair", ORDINARY_DAY, passes_over=["co-ordinator"])
    assert recipient.addresses == ["glasgow.co-ordinator@mappa-scotland.example.gov.uk"]
    assert recipient.note is not None and "add a chair or deputy co-ordinator" in recipient.note


def test_an_area_with_nobody_to_receive_co_ordinator_notices_is_an_error(directory: Engine) -> None:
    with Session(directory) as session, pytest.raises(NoRecipient, match=r"no co-ordinator .* 'fife'"):
        recipient_addresses(session, "fife", "unknown-agency", ORDINARY_DAY)


def test_loading_the_directory_again_changes_nothing(directory: Engine) -> None:
    load_directory(directory, SEED_DIRECTORY)
    seed = DirectoryFile.read(SEED_DIRECTORY)
    with Session(directory) as session:
        assert session.scalar(select(func.count()).select_from(Agency)) == len(seed.agencies)
        assert session.scalar(select(func.count()).select_from(RoleHolder)) == len(seed.role_holders)


def test_every_mappa_area_has_a_co_ordinator_and_a_chair_in_the_seed_directory(directory: Engine) -> None:
    with Session(directory) as session:
        for area in AREAS:
            for role in ("co-ordinator", "chair"):
                assert resolve_recipient(session, area, role, ORDINARY_DAY).note is None, (area, role)
