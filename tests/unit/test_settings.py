"""Settings work out of the box on a laptop and refuse laptop defaults in production."""

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("MAPPA_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


def production(tmp_path: Path, **overrides: object) -> Settings:
    key_file = tmp_path / "codec.key"
    key_file.write_text("{}")
    values: dict[str, object] = {
        "environment": "production",
        "codec_key_file": key_file,
        "database_url": "postgresql+psycopg://mappa@db/mappa",
        "smtp_host": "relay.example.gov.uk",
        "smtp_port": 25,
        "smtp_sender": "mappa@example.gov.uk",
        "public_api_url": "https://mappa.example.gov.uk",
        "ui_origin": "https://temporal.mappa.example.gov.uk",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def test_development_defaults_need_no_configuration() -> None:
    settings = Settings()
    assert settings.environment == "development"
    assert settings.temporal_address == "localhost:7233"
    assert settings.temporal_namespace == "mappa"
    assert settings.task_queue == "mappa-cases"
    assert settings.database_url == "sqlite:///data/mappa.db"
    assert settings.codec_key_file == Path("data/dev-codec.key")


def test_settings_come_from_mappa_variables_and_dot_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("MAPPA_TASK_QUEUE=from-dot-env\nMAPPA_API_PORT=9000\n")
    monkeypatch.setenv("MAPPA_API_PORT", "9100")
    settings = Settings()
    assert settings.task_queue == "from-dot-env"
    assert settings.api_port == 9100  # the environment beats .env


def test_plain_database_url_is_accepted_and_mappa_prefix_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://plain/db")
    assert Settings().database_url == "postgresql+psycopg://plain/db"
    monkeypatch.setenv("MAPPA_DATABASE_URL", "postgresql+psycopg://prefixed/db")
    assert Settings().database_url == "postgresql+psycopg://prefixed/db"


def test_production_with_everything_named_is_accepted(tmp_path: Path) -> None:
    assert production(tmp_path).is_production


def test_production_refuses_sqlite(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not SQLite"):
        production(tmp_path, database_url="sqlite:///data/mappa.db")


def test_production_refuses_a_missing_codec_key(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="MAPPA_CODEC_KEY_FILE must name"):
        production(tmp_path, codec_key_file=None)
    with pytest.raises(ValidationError, match="does not exist"):
        production(tmp_path, codec_key_file=tmp_path / "absent.key")


def test_production_refuses_implicit_smtp(tmp_path: Path) -> None:
    key_file = tmp_path / "codec.key"
    key_file.write_text("{}")
    with pytest.raises(ValidationError, match="MAPPA_SMTP_HOST, MAPPA_SMTP_PORT, MAPPA_SMTP_SENDER"):
        Settings(
            environment="production",
            codec_key_file=key_file,
            database_url="postgresql+psycopg://mappa@db/mappa",
        )


def test_production_refuses_localhost_addresses_by_default(tmp_path: Path) -> None:
    values = production(tmp_path).model_dump(exclude={"public_api_url", "ui_origin", "codec_keys"})
    with pytest.raises(ValidationError, match="MAPPA_PUBLIC_API_URL, MAPPA_UI_ORIGIN must be set explicitly"):
        Settings(**values)


def test_the_public_address_is_configured_not_taken_from_the_machine(tmp_path: Path) -> None:
    assert production(tmp_path).api_base_url == "https://mappa.example.gov.uk"
    assert production(tmp_path, public_api_url="https://mappa.example.gov.uk/api/").api_base_url == (
        "https://mappa.example.gov.uk/api"
    )
    assert Settings(api_port=8123).api_base_url == "http://localhost:8123"
    with pytest.raises(ValidationError, match="public_api_url"):
        Settings(public_api_url="mappa.example.gov.uk")


def test_a_worker_runs_a_few_workflow_tasks_at_once_and_never_none() -> None:
    # Workflow tasks share one interpreter lock: the SDK's default of 100 at once made a bulk import's first tasks
    # take over 5 s each (past the deadlock detector). The worker takes a handful; zero would take none.
    assert Settings().workflow_task_slots == 8  # as the README's settings table and docs/SCALING.md say
    assert Settings(workflow_task_slots=1).workflow_task_slots == 1
    for refused in (0, 101):
        with pytest.raises(ValidationError, match="workflow_task_slots"):
            Settings(workflow_task_slots=refused)
