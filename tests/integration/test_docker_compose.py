"""docker-compose.yml is coherent: pinned images, healthchecks, and the same search attributes as dev.

No Docker engine runs on the build machines, so this reads the file instead of starting it.
"""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from worker.search_attribute_registry import SEARCH_ATTRIBUTES

REPO_ROOT = Path(__file__).resolve().parents[2]
ONE_SHOT_SERVICES = {"temporal-schema", "temporal-setup", "migrate"}


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def test_every_service_the_settings_need_exists(services: dict[str, dict[str, Any]]) -> None:
    assert {"postgres", "temporal", "temporal-ui", "worker", "api"} <= services.keys()


def test_every_image_is_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest" and not tag.startswith("$"), f"{name}: image {image!r} is not pinned"


def test_dockerfile_base_image_is_pinned() -> None:
    (base,) = re.findall(r"^FROM\s+(\S+)", (REPO_ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), base


def test_long_running_services_have_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if name not in ONE_SHOT_SERVICES:
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_the_api_healthcheck_asks_the_health_endpoint(services: dict[str, dict[str, Any]]) -> None:
    assert any("/health" in part for part in services["api"]["healthcheck"]["test"])


def test_worker_and_api_run_in_production_mode_with_a_codec_key_and_postgres(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in ("worker", "api", "migrate"):
        environment = services[name]["environment"]
        assert environment["MAPPA_ENVIRONMENT"] == "production", name
        assert environment["MAPPA_DATABASE_URL"].startswith("postgresql+psycopg://"), name
        assert environment["MAPPA_CODEC_KEY_FILE"] == "/run/secrets/mappa_codec_key", name
        assert "mappa_codec_key" in services[name]["secrets"], name
        for setting in ("MAPPA_SMTP_HOST", "MAPPA_SMTP_PORT", "MAPPA_SMTP_SENDER"):
            assert setting in environment, f"{name} leaves {setting} to the development default"


def test_temporal_persists_to_postgres(services: dict[str, dict[str, Any]]) -> None:
    environment = services["temporal"]["environment"]
    assert environment["DB"] == "postgres12"
    assert environment["POSTGRES_SEEDS"] == "postgres"


def test_the_ui_decodes_payloads_through_the_api(services: dict[str, dict[str, Any]]) -> None:
    assert services["temporal-ui"]["environment"]["TEMPORAL_CODEC_ENDPOINT"].endswith("/codec")


def test_setup_registers_exactly_the_registry_search_attributes(services: dict[str, dict[str, Any]]) -> None:
    script = "\n".join(services["temporal-setup"]["command"])
    assert "--namespace mappa" in script
    registered = re.findall(r"search-attribute create --namespace mappa --name (\w+) --type (\w+)", script)
    assert sorted(registered) == sorted(SEARCH_ATTRIBUTES)
