"""docker-compose.yml is coherent: pinned images, healthchecks, the same search attributes as dev, and
Prometheus and Grafana wired to the metrics the worker and the API export.

No Docker engine runs on the build machines, so this reads the file instead of starting it.
"""

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from activities import metrics
from api.routes import metrics as ledger_metrics
from worker.search_attribute_registry import SEARCH_ATTRIBUTES

REPO_ROOT = Path(__file__).resolve().parents[2]
ONE_SHOT_SERVICES = {"temporal-schema", "temporal-setup", "migrate", "schedules"}


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
