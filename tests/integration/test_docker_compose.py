"""docker-compose.yml is coherent: pinned images, healthchecks, the same search attributes as dev, and
Prometheus and Grafana wired to the metrics the worker and the API export; every host path it mounts exists or
is made by a step of the README's deployment section, every variable it reads is documented there, its settings
pass the application's production checks, and every command it runs exists in the image.

No Docker engine runs on the build machines, so this reads the file instead of starting it
(test_deployment_steps.py runs the one-shots and follows the README's steps).
"""

import importlib
import importlib.util
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from activities import metrics
from api.routes import metrics as ledger_metrics
from core.keyfile import create_key_file
from core.settings import Settings
from tests.integration import compose_file
from worker.search_attribute_registry import SEARCH_ATTRIBUTES

REPO_ROOT = Path(__file__).resolve().parents[2]
ONE_SHOT_SERVICES = compose_file.ONE_SHOT_SERVICES


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


# ------------------------------------------------------------------------------------------ monitoring

DEPLOY = REPO_ROOT / "deploy"


def mounted(service: dict[str, Any], inside: str) -> Path:
    """The repository file or folder a service mounts at `inside`."""
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if target == inside:
            path = (REPO_ROOT / source).resolve()
            assert path.exists(), f"{source} is mounted at {inside} but does not exist"
            return path
    raise AssertionError(f"nothing is mounted at {inside}")


def scrape_targets(config: dict[str, Any]) -> dict[str, set[str]]:
    """job name -> host:port targets, static or discovered by DNS."""
    targets: dict[str, set[str]] = {}
    for job in config["scrape_configs"]:
        found = targets.setdefault(job["job_name"], set())
        for static in job.get("static_configs", []):
            found.update(static["targets"])
        for dns in job.get("dns_sd_configs", []):
            found.update(f"{name}:{dns['port']}" for name in dns["names"])
    return targets


def test_prometheus_scrapes_the_worker_its_sdk_metrics_the_api_and_temporal(
    services: dict[str, dict[str, Any]],
) -> None:
    config = yaml.safe_load(mounted(services["prometheus"], "/etc/prometheus/prometheus.yml").read_text())
    environment = services["worker"]["environment"]
    targets = scrape_targets(config)

    assert targets["mappa-worker"] == {f"worker:{environment['MAPPA_METRICS_PORT']}"}
    assert targets["mappa-worker-sdk"] == {f"worker:{environment['MAPPA_SDK_METRICS_PORT']}"}
    assert targets["mappa-api"] == {f"api:{environment['MAPPA_API_PORT']}"}
    api_job = next(job for job in config["scrape_configs"] if job["job_name"] == "mappa-api")
    assert api_job["metrics_path"] == "/metrics"
    assert targets["temporal"] == {
        services["temporal"]["environment"]["PROMETHEUS_ENDPOINT"].replace("0.0.0.0", "temporal")
    }


def test_the_worker_healthcheck_reads_its_own_metrics_port(services: dict[str, dict[str, Any]]) -> None:
    port = services["worker"]["environment"]["MAPPA_METRICS_PORT"]
    assert any(f":{port}/metrics" in part for part in services["worker"]["healthcheck"]["test"])


def test_grafana_is_provisioned_with_prometheus_and_the_ops_dashboard(
    services: dict[str, dict[str, Any]],
) -> None:
    grafana = services["grafana"]
    provisioning = mounted(grafana, "/etc/grafana/provisioning")
    dashboards_dir = mounted(grafana, "/etc/grafana/dashboards")
    (datasource,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())[
        "datasources"
    ]
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "mappa.yml").read_text())["providers"]
    assert datasource["url"] == "http://prometheus:9090" and "prometheus" in services
    assert provider["options"]["path"] == "/etc/grafana/dashboards"
    assert "GRAFANA_ADMIN_PASSWORD" in grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"]

    dashboard = json.loads((dashboards_dir / "mappa.json").read_text())
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    for panel in panels:
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
    titles = " | ".join(panel["title"].lower() for panel in panels)
    for subject in ("breaches", "open deadlines", "lateness", "delivery failures"):
        assert subject in titles, f"no panel for {subject}"


def test_every_metric_the_dashboard_graphs_is_one_we_export() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "mappa.json").read_text())
    expressions = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    graphed = {name for expr in expressions for name in re.findall(r"\b(mappa_[a-z_]+)", expr)}

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    exported = {
        family.name + suffix
        for family in metrics.REGISTRY.collect()
        for suffix in suffixes.get(family.type, ("",))
    } | {ledger_metrics.OPEN_DEADLINES, ledger_metrics.OPEN_BREACHES}
    assert graphed and graphed <= exported, graphed - exported


def test_the_digest_schedules_are_made_once_temporal_is_set_up(services: dict[str, dict[str, Any]]) -> None:
    schedules = services["schedules"]
    assert schedules["command"] == ["python", "-m", "worker.schedules"]
    assert schedules["depends_on"]["temporal-setup"]["condition"] == "service_completed_successfully"
    assert schedules["environment"]["MAPPA_ENVIRONMENT"] == "production"
    assert "mappa_codec_key" in schedules["secrets"]  # the schedules' workflow input is encrypted too


# ------------------------------------------------------------------------------------------ what it names


def test_every_host_path_the_compose_file_names_exists_or_a_deployment_step_makes_it(
    services: dict[str, dict[str, Any]],
) -> None:
    made = compose_file.made_by_steps()
    named: set[Path] = set()
    for name, service in services.items():
        named |= {Path(v.split(":")[0]) for v in service.get("volumes", []) if v.startswith("./")}
        for value in service.get("environment", {}).values():
            if str(value).startswith("/etc/mappa/") or str(value).startswith("/run/secrets/"):
                named.add(compose_file.host_path(name, str(value)))
    named |= {Path(secret["file"]) for secret in compose_file.compose()["secrets"].values()}

    missing = {path for path in named if not (REPO_ROOT / path).exists() and path not in made}
    assert not missing, (
        f"named by docker-compose.yml, neither in the repository nor made by a step: {missing}"
    )
    # What the steps make is what the compose file reads: the key file and the directory, nothing else.
    assert made == {path for path in named if not (REPO_ROOT / path).exists()}
    assert Path("deploy/config/agency-directory.json") in made and Path("secrets/codec.key") in made
    assert (REPO_ROOT / "deploy/config/agency-directory.example.json").is_file()


def test_every_variable_the_compose_file_reads_is_documented_and_every_required_one_is_exported() -> None:
    read = compose_file.variables_read()
    exported = compose_file.exported()

    assert set(read) <= compose_file.documented_variables(), set(read) - compose_file.documented_variables()
    required = {name for name, default in read.items() if default is None}
    assert required <= set(exported), f"required but not set by the steps: {required - set(exported)}"
    assert set(exported) <= set(read), f"exported but never read: {set(exported) - set(read)}"


def test_the_app_settings_are_known_to_the_application_and_pass_its_production_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    variables = compose_file.exported()
    key_file = tmp_path / "codec.key"
    create_key_file(key_file)
    monkeypatch.chdir(tmp_path)  # no stray .env
    for service in ("worker", "api", "migrate", "schedules"):
        environment = compose_file.environment(service, variables)
        unknown = {
            name
            for name in environment
            if name.startswith("MAPPA_") and name.removeprefix("MAPPA_").lower() not in Settings.model_fields
        }
        assert not unknown, f"{service}: settings the application does not read: {unknown}"
        assert not [v for n, v in environment.items() if n.startswith("MAPPA_") and "localhost" in v], service
        for name in list(os.environ):
            if name.startswith("MAPPA_") or name == "DATABASE_URL":
                monkeypatch.delenv(name)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("MAPPA_CODEC_KEY_FILE", str(key_file))  # the secret, where this test keeps it

        settings = Settings()

        assert settings.is_production
        assert settings.api_base_url == variables["MAPPA_PUBLIC_API_URL"]
        assert settings.ui_origin == variables["MAPPA_UI_ORIGIN"]
    ui = compose_file.environment("temporal-ui", variables)
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == f"{variables['MAPPA_PUBLIC_API_URL']}/codec"
    with pytest.raises(LookupError, match="MAPPA_PUBLIC_API_URL is required"):
        compose_file.environment("api", {k: v for k, v in variables.items() if k != "MAPPA_PUBLIC_API_URL"})


def test_every_command_the_compose_file_runs_in_our_image_exists_there(
    services: dict[str, dict[str, Any]],
) -> None:
    (default_command,) = re.findall(r"^CMD (.+)$", (REPO_ROOT / "Dockerfile").read_text(), re.MULTILINE)
    ours = {name: s for name, s in services.items() if s.get("image", "").startswith("mappa-orchestration:")}
    assert {"worker", "api", "migrate", "schedules"} <= set(ours)
    for name, service in ours.items():
        assert service["build"] == "." and (REPO_ROOT / "Dockerfile").is_file()
        command = service.get("command") or json.loads(default_command)
        match command:
            case ["python", "-m", module]:
                assert importlib.util.find_spec(module) is not None, f"{name}: no module {module}"
            case ["alembic", "-c", config, "upgrade", "head"]:
                assert (REPO_ROOT / config).is_file(), f"{name}: no {config}"
            case ["uvicorn", target, *_]:
                module, _, attribute = target.partition(":")
                assert attribute in vars(importlib.import_module(module)), f"{name}: no {target}"
            case _:
                pytest.fail(f"{name}: a command this test does not know: {command}")
        for part in service.get("healthcheck", {}).get("test", []):
            if part.startswith("import "):
                compile(part, f"{name} healthcheck", "exec")
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} waits for {needed}, which is not a service"
    # `docker compose exec api mappa ...` needs the console script in the image.
    assert "mappa" in tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def test_the_temporal_schema_one_shot_tolerates_what_an_earlier_run_made() -> None:
    """temporal-sql-tool is not installed here: the script is read. Creating a database or its base schema that
    exists fails harmlessly; update-schema is the step that must succeed, and is a no-op when current."""
    script = (DEPLOY / "temporal" / "setup-schema.sh").read_text()
    for step in ("create", "setup-schema -v 0.0"):
        (line,) = [line for line in script.splitlines() if f"$sql_tool {step}" in line]
        assert "||" in line, f"a second run would stop at: {line.strip()}"
    (update,) = [line for line in script.splitlines() if "$sql_tool update-schema" in line]
    assert "||" not in update
    assert "set -eu" in script


def test_the_postgres_init_script_runs_only_when_the_volume_is_first_made(
    services: dict[str, dict[str, Any]],
) -> None:
    (init,) = [v for v in services["postgres"]["volumes"] if "/docker-entrypoint-initdb.d/" in v]
    assert (REPO_ROOT / init.split(":")[0]).is_file()
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]


def test_every_dollar_in_the_compose_file_is_a_variable_or_escaped() -> None:
    """Compose refuses the whole file ("Invalid template") at a `$` that is neither `${NAME...}`, `$NAME` nor
    `$$`: a shell's `$((n + 1))` or `$tries` in a one-shot's script must be written `$$`."""
    text = compose_file.COMPOSE_FILE.read_text().replace("$$", "")
    stray = [line.strip() for line in text.splitlines() if re.search(r"\$(?![{\w])", line)]
    assert not stray, stray
    assert not re.search(r"\$[a-z_]", text), "a bare $name is interpolated by Compose, not left to the shell"
