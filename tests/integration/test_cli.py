"""`mappa` against a real database (SQLite and PostgreSQL): tokens, the directory and the calculator."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.auth import hash_token, user_for_token
from api.calculator import calculate_deadline, render
from cli.main import main
from store.directory import load_directory
from store.models import Agency, ApiToken

DIRECTORY = Path(__file__).resolve().parents[2] / "store" / "seed" / "directory.json"


@pytest.fixture
def cli_database(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The CLI reads its database from MAPPA_DATABASE_URL, as in production; the seed directory is loaded."""
    monkeypatch.setenv("MAPPA_DATABASE_URL", database_url)
    load_directory(engine, DIRECTORY)
    return engine


def issue(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["tokens", "issue", *args]) == 0
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_an_issued_token_is_shown_once_and_stored_only_as_its_hash(
    cli_database: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    token = issue(
        capsys,
        *("--user", "Morag Example", "--agency", "lanarkshire-justice-social-work"),
        *("--role", "co-ordinator", "--area", "lanarkshire"),
    )
    with Session(cli_database) as session:
        row = session.scalars(select(ApiToken)).one()
        holder = user_for_token(session, token)
    assert row.token_hash == hash_token(token) and token not in row.token_hash
    assert holder is not None
    assert (holder.user_name, holder.role.value, holder.agency_id, holder.area) == (
        "Morag Example",
        "co-ordinator",
        "lanarkshire-justice-social-work",
        "lanarkshire",
    )


def test_a_revoked_token_no_longer_identifies_its_user(
    cli_database: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--user", "PC Example", "--agency", "police-scotland-lanarkshire", "--role", "agency-worker")
    first = issue(capsys, *args, "--area", "lanarkshire")
    second = issue(capsys, *args, "--area", "lanarkshire")

    assert main(["tokens", "revoke", "--user", "PC Example"]) == 0
    assert "Revoked 2 token(s)" in capsys.readouterr().out
    with Session(cli_database) as session:
        assert user_for_token(session, first) is None and user_for_token(session, second) is None

    assert main(["tokens", "revoke", "--user", "PC Example"]) == 1
    assert "no live token" in capsys.readouterr().err

    third = issue(capsys, *args, "--area", "lanarkshire")
    with Session(cli_database) as session:
        third_id = session.scalars(select(ApiToken.id).where(ApiToken.token_hash == hash_token(third))).one()
    assert main(["tokens", "revoke", "--id", str(third_id)]) == 0
    assert main(["tokens", "list"]) == 0
    listing = capsys.readouterr().out
    assert listing.count("revoked") == 3 and third not in listing


def test_a_co_ordinator_token_needs_an_area(cli_database: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "tokens",
            "issue",
            "--user",
            "X",
            "--agency",
            "glasgow-justice-social-work",
            "--role",
            "co-ordinator",
        ]
    )
    assert code == 1
    assert "works in one area" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["tokens", "issue", "--user", "X", "--role", "superuser", "--area", "glasgow"])


@pytest.mark.parametrize(
    ("args", "refusal"),
    [
        # Issue 10, finding 2, as written: an area-less worker token for a local agency...
        (("--agency", "police-scotland-lanarkshire", "--role", "agency-worker"), "give its area"),
        # ...a token for an agency the directory does not know...
        (
            ("--agency", "made-up-agency", "--role", "agency-worker", "--area", "glasgow"),
            "not in the MAPPA directory",
        ),
        # ...and a chair token for an agency of another area.
        (
            ("--agency", "police-scotland-glasgow", "--role", "chair", "--area", "lanarkshire"),
            "not Lanarkshire",
        ),
        (("--agency", "sps", "--role", "chair"), "works in one area"),
        # A national agency's token is area-less and an agency worker's, always...
        (("--agency", "sps", "--role", "agency-worker", "--area", "lanarkshire"), "is a national agency"),
        (("--agency", "sps", "--role", "co-ordinator", "--area", "glasgow"), "is a national agency"),
        (("--agency", "sps", "--role", "chair", "--area", "lanarkshire"), "is a national agency"),
        # ...and the roles an agency's people may hold are the directory's.
        (
            ("--agency", "lanarkshire-housing", "--role", "chair", "--area", "lanarkshire"),
            "not chair",
        ),
        (
            ("--agency", "nhs-lanarkshire", "--role", "co-ordinator", "--area", "lanarkshire"),
            "not co-ordinator",
        ),
    ],
)
def test_a_token_must_fit_the_directory(
    cli_database: Engine, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], refusal: str
) -> None:
    assert main(["tokens", "issue", "--user", "X", *args]) == 1
    assert refusal in capsys.readouterr().err
    with Session(cli_database) as session:
        assert session.scalars(select(ApiToken)).all() == []


def test_only_a_national_agency_gets_a_token_without_an_area(
    cli_database: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    token = issue(capsys, "--user", "SPS case manager", "--agency", "sps", "--role", "agency-worker")
    with Session(cli_database) as session:
        holder = user_for_token(session, token)
        assert session.get(Agency, "sps").national  # type: ignore[union-attr]
    assert holder is not None and holder.area is None and holder.agency_id == "sps"


def test_a_national_agencys_token_issued_with_an_area_no_longer_acts(
    cli_database: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    """A token issued before the directory decided (SPS, agency worker, Lanarkshire) identifies nobody now; nor
    does one whose role the directory has since taken away."""
    with Session(cli_database) as session:
        for token, role, area in (
            ("mappa_old-sps", "agency-worker", "lanarkshire"),
            ("mappa_old-chair", "chair", None),
        ):
            session.add(
                ApiToken(token_hash=hash_token(token), user_name="old", agency_id="sps", role=role, area=area)
            )
        session.commit()
        assert user_for_token(session, "mappa_old-sps") is None
        assert user_for_token(session, "mappa_old-chair") is None
    chair = issue(
        capsys,
        "--user",
        "DI Example",
        "--agency",
        "police-scotland-lanarkshire",
        "--role",
        "chair",
        "--area",
        "lanarkshire",
    )
    with Session(cli_database) as session:
        assert user_for_token(session, chair) is not None
        police = session.get(Agency, "police-scotland-lanarkshire")
        assert police is not None
        police.roles = ["agency-worker"]
        session.commit()
        assert user_for_token(session, chair) is None


def test_the_directory_loads_from_its_file(cli_database: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["directory", "load", str(DIRECTORY)]) == 0
    assert "agencies" in capsys.readouterr().out
    with Session(cli_database) as session:
        assert session.get(Agency, "nhs-lanarkshire") is not None


def test_the_calculator_prints_what_the_api_answers(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "deadline",
                "calc",
                "--area",
                "wiltshire-and-swindon",
                "--rule",
                "record-search",
                "--date",
                "2026-04-02",
            ]
        )
        == 0
    )
    table = capsys.readouterr().out
    assert table.strip() == render(
        calculate_deadline("wiltshire-and-swindon", "record-search", date(2026, 4, 2))
    )
    assert "Easter Monday (bank-holiday)" in table and "Monday 13 April 2026" in table

    assert (
        main(["deadline", "calc", "--area", "glasgow", "--rule", "minutes", "--date", "2026-11-26", "--json"])
        == 0
    )
    answer = json.loads(capsys.readouterr().out)
    assert answer == calculate_deadline("glasgow", "minutes", date(2026, 11, 26)).model_dump(mode="json")

    assert (
        main(["deadline", "calc", "--area", "south-wales", "--rule", "swis-alert", "--date", "2026-04-02"])
        == 1
    )
    assert "--rule: the swis-alert rule does not apply in England and Wales" in capsys.readouterr().err
