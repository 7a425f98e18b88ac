"""`mappa` against a real database (SQLite and PostgreSQL): tokens, the directory and the calculator."""

from __future__ import annotations

import json
import tomllib
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


def test_the_version_is_the_packages(capsys: pytest.CaptureFixture[str]) -> None:
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"mappa {pyproject['project']['version']}"


def test_tokens_list_as_json_names_each_token_never_the_token_itself(
    cli_database: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--agency", "police-scotland-lanarkshire", "--role", "agency-worker", "--area", "lanarkshire")
    token = issue(capsys, "--user", "PC Example", *args)
    issue(capsys, "--user", "PC Other", *args)
    assert main(["tokens", "revoke", "--user", "PC Other"]) == 0
    capsys.readouterr()

    assert main(["tokens", "list", "--json"]) == 0

    out = capsys.readouterr().out
    listing = json.loads(out)
    assert [(t["user"], t["role"], t["agency"], t["area"]) for t in listing] == [
        ("PC Example", "agency-worker", "police-scotland-lanarkshire", "lanarkshire"),
        ("PC Other", "agency-worker", "police-scotland-lanarkshire", "lanarkshire"),
    ]
    assert listing[0]["revoked_at"] is None and listing[1]["revoked_at"] is not None
    assert token not in out and hash_token(token) not in out


def test_an_import_with_temporal_unreachable_is_one_line_not_a_traceback(
    cli_database: Engine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAPPA_TEMPORAL_ADDRESS", "127.0.0.1:1")  # nothing listens there
    example = Path(__file__).resolve().parents[2] / "docs" / "import-example.csv"

    assert main(["import", "cases", str(example), "--area", "lanarkshire", "--commit"]) == 1

    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("mappa: Temporal at 127.0.0.1:1 (namespace mappa) does not answer")
    assert len([line for line in lines if line.startswith("mappa:")]) == 1


EXAMPLE_DIRECTORY = (
    Path(__file__).resolve().parents[2] / "deploy" / "config" / "agency-directory.example.json"
)


def test_the_shipped_example_directory_is_the_seed_and_check_refuses_its_example_addresses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert EXAMPLE_DIRECTORY.read_text() == DIRECTORY.read_text()

    assert main(["directory", "check", str(EXAMPLE_DIRECTORY)]) == 1
    refused = capsys.readouterr()
    assert "address(es) at example domains, e.g. mappa.spoc@" in refused.out
    assert refused.err.startswith("mappa: 1 problem(s) in ")

    assert main(["directory", "check", str(EXAMPLE_DIRECTORY), "--allow-examples"]) == 0
    assert "No problems found" in capsys.readouterr().out


def test_directory_check_names_an_area_nobody_could_be_escalated_to_and_a_malformed_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(DIRECTORY.read_text())
    document["role_holders"] = [h for h in document["role_holders"] if h["area"] != "glasgow"]
    without_glasgow = tmp_path / "directory.json"
    without_glasgow.write_text(json.dumps(document))

    assert main(["directory", "check", str(without_glasgow), "--allow-examples"]) == 1
    assert (
        "area glasgow: nobody holds the co-ordinator or deputy co-ordinator role" in capsys.readouterr().out
    )

    document["agencies"][0]["spoc_email"] = "not an address"
    without_glasgow.write_text(json.dumps(document))
    assert main(["directory", "check", str(without_glasgow)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mappa: ") and "is not a valid directory: agencies.0.spoc_email" in err
    assert "Traceback" not in err
    assert main(["directory", "check", str(tmp_path / "absent.json")]) == 1
    assert "absent.json does not exist" in capsys.readouterr().err
