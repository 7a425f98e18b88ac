"""`mappa calendar` against a real database (SQLite and PostgreSQL): a feed's address is shown once, only its
secret's hash is kept, and a revoked feed opens nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cli.main import main
from store.calendars import feed_for_secret, hash_secret
from store.directory import load_directory
from store.models import CalendarFeed

DIRECTORY = Path(__file__).resolve().parents[2] / "store" / "seed" / "directory.json"


@pytest.fixture
def cli_database(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("MAPPA_DATABASE_URL", database_url)
    load_directory(engine, DIRECTORY)
    return engine


def test_an_issued_feed_address_is_shown_once_and_revoking_it_closes_the_feed(
    cli_database: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["calendar", "issue", "--agency", "nhs-lanarkshire", "--area", "lanarkshire"]
    assert main([*args, "--api", "https://mappa.example.gov.uk"]) == 0
    address = capsys.readouterr().out.strip().splitlines()[-1]
    prefix, suffix = "https://mappa.example.gov.uk/calendars/", ".ics"
    assert address.startswith(prefix) and address.endswith(suffix)
    secret = address[len(prefix) : -len(suffix)]

    with Session(cli_database) as session:
        row = session.scalars(select(CalendarFeed)).one()
        assert (row.agency_id, row.area, row.secret_hash) == (
            "nhs-lanarkshire",
            "lanarkshire",
            hash_secret(secret),
        )
        assert row.revoked_at is None

    assert main(["calendar", "revoke", "--agency", "nhs-lanarkshire"]) == 0
    with Session(cli_database) as session:
        feed = feed_for_secret(session, secret)
        assert feed is not None and feed.revoked_at is not None
    assert main(["calendar", "list"]) == 0
    assert "revoked" in capsys.readouterr().out


def test_a_feed_for_an_agency_outside_the_area_is_refused_in_words(
    cli_database: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["calendar", "issue", "--agency", "nhs-lanarkshire", "--area", "glasgow"]) == 1
    assert "nhs-lanarkshire' works in lanarkshire, not glasgow" in capsys.readouterr().err
    assert main(["calendar", "issue", "--agency", "no-such-agency", "--area", "glasgow"]) == 1
    assert "not in the MAPPA directory" in capsys.readouterr().err


def test_a_feed_address_uses_the_configured_public_api_url(
    cli_database: Engine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAPPA_PUBLIC_API_URL", "https://mappa.example.gov.uk/")

    assert main(["calendar", "issue", "--agency", "nhs-lanarkshire", "--area", "lanarkshire"]) == 0

    address = capsys.readouterr().out.strip().splitlines()[-1]
    assert address.startswith("https://mappa.example.gov.uk/calendars/mappacal_")


def test_calendar_list_as_json_never_shows_an_address(
    cli_database: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    for agency in ("nhs-lanarkshire", "lanarkshire-housing"):
        assert main(["calendar", "issue", "--agency", agency, "--area", "lanarkshire"]) == 0
    secret = capsys.readouterr().out.strip().splitlines()[-1].rpartition("/")[2]
    assert main(["calendar", "revoke", "--agency", "lanarkshire-housing"]) == 0
    capsys.readouterr()

    assert main(["calendar", "list", "--json"]) == 0

    out = capsys.readouterr().out
    listing = json.loads(out)
    assert [(f["agency"], f["area"], f["revoked_at"] is None) for f in listing] == [
        ("nhs-lanarkshire", "lanarkshire", True),
        ("lanarkshire-housing", "lanarkshire", False),
    ]
    assert "mappacal_" not in out and secret.removesuffix(".ics") not in out
