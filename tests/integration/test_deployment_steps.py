"""The deployment as the README's "Deploying with docker compose" tells it, as far as it runs without Docker.

- Each one-shot service runs twice, the second time finding its work done: docker-compose's own `temporal-setup`
  script against a Temporal server (the dev server, with the same `temporal` CLI), `schedules` against it in
  the namespace that script made, and `migrate` against PostgreSQL and SQLite.
- The README's steps are followed line by line: what runs on the host runs here in a fresh directory; a command
  run in a container (`docker compose run|exec SERVICE mappa ...`) runs the same CLI with that service's
  environment from docker-compose.yml, container paths mapped to the host files its volumes and secrets name.
  The one stand-in is the database: the compose file's PostgreSQL host is replaced by a schema of the local
  server. A line the test does not know how to follow fails it, so the README cannot grow an untested step.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from bench.rig import postgres_schema
from cli.main import main as mappa
from core.database import make_engine
from core.settings import Settings
from store.directory import load_directory
from store.models import ApiToken, CalendarFeed
from tests.helpers import unique_task_queue
from tests.integration import compose_file
from tests.integration.compose_file import REPO_ROOT, Step
from worker.main import directory_file
from worker.search_attribute_registry import indexed_value_types
from workflows.digest import schedule_id
from workflows.rules.policy import AREAS

pytestmark = pytest.mark.timeout(300)
BIN = Path(sys.executable).parent  # the `temporal`, `alembic` and `mappa` of this environment


def one_shot(service: str) -> dict[str, Any]:
    spec: dict[str, Any] = compose_file.compose()["services"][service]
    assert spec["restart"] == "on-failure:5", f"{service} is not a one-shot"
    return spec


def run(command: list[str], env: dict[str, str], cwd: Path = REPO_ROOT) -> str:
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"{command[:3]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


# ------------------------------------------------------------------------------------------ one-shots


async def test_temporal_setup_and_the_schedules_run_twice_and_find_their_work_done(
    dev_server_env: WorkflowEnvironment,
) -> None:
    setup = one_shot("temporal-setup")
    assert setup["entrypoint"] == ["/bin/sh", "-c"]
    (script,) = [compose_file.shell_text(part, compose_file.exported()) for part in setup["command"]]
    address = dev_server_env.client.service_client.config.target_host
    shell_env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "TEMPORAL_ADDRESS": address}

    first = run(["/bin/sh", "-c", script], shell_env)
    again = run(["/bin/sh", "-c", script], shell_env)  # namespace and every attribute already there

    assert "Search attributes have been added" in first
    assert "successfully registered" not in again  # the namespace was found, not made again
    listed = await dev_server_env.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="mappa")
    )
    expected = {name: IndexedValueType.Name(kind) for name, kind in indexed_value_types().items()}
    found = {name: IndexedValueType.Name(listed.custom_attributes[name]) for name in expected}
    assert found == expected

    schedules = one_shot("schedules")
    app_env = {
        **os.environ,
        "MAPPA_TEMPORAL_ADDRESS": address,
        "MAPPA_TEMPORAL_NAMESPACE": compose_file.environment("schedules", compose_file.exported())[
            "MAPPA_TEMPORAL_NAMESPACE"
        ],
        "MAPPA_TASK_QUEUE": unique_task_queue(),
    }
    command = [str(BIN / "python"), *schedules["command"][1:]]
    client = await Client.connect(
        address, namespace="mappa", data_converter=dev_server_env.client.data_converter
    )
    try:
        created = run(command, app_env)
        updated = run(command, app_env)
        assert all(f"schedule {schedule_id(area)} created" in created for area in AREAS)
        assert all(f"schedule {schedule_id(area)} updated" in updated for area in AREAS)
        expected_ids = sorted(schedule_id(area) for area in AREAS)
        listed_schedules: list[str] = []
        for _ in range(60):  # the schedule list is read from visibility, which catches up shortly
            listed_schedules = sorted([s.id async for s in await client.list_schedules()])
            if listed_schedules == expected_ids:
                break
            await asyncio.sleep(0.5)
        assert listed_schedules == expected_ids
    finally:
        for area in AREAS:
            await client.get_schedule_handle(schedule_id(area)).delete()


def test_migrate_runs_twice_and_the_second_run_changes_nothing(database_url: str) -> None:
    migrate = one_shot("migrate")
    command = [str(BIN / "alembic"), *migrate["command"][1:]]
    env = {**os.environ, "MAPPA_DATABASE_URL": database_url}

    run(command, env)
    again = run(command, env)
    current = run([str(BIN / "alembic"), "-c", "store/alembic.ini", "current"], env)
    heads = run([str(BIN / "alembic"), "-c", "store/alembic.ini", "heads"], env)

    assert "Running upgrade" not in again
    (head,) = re.findall(r"^(\w+) \(head\)", heads, re.MULTILINE)
    assert f"{head} (head)" in current


# ------------------------------------------------------------------------------------------ the README


@dataclass
class Deployment:
    """A checkout on the Docker host (`host`), and what the steps have set so far."""

    host: Path
    database_url: str
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]
    variables: dict[str, str] = field(default_factory=dict)
    printed: list[tuple[list[str], str]] = field(default_factory=list)

    def container_environment(self, service: str) -> dict[str, str]:
        environment = compose_file.environment(service, self.variables)
        for name, value in environment.items():
            if value.startswith(("/etc/", "/run/secrets/")):
                environment[name] = str(self.host / compose_file.host_path(service, value))
        environment["MAPPA_DATABASE_URL"] = self.database_url  # the stand-in for the compose's PostgreSQL
        return environment

    def in_container(self, service: str, command: list[str]) -> tuple[int, str]:
        """`command` as the service's container runs it: its environment, its view of the host's files."""
        assert command[0] == "mappa", f"{service}: only the mappa CLI is run in containers: {command}"
        spec = compose_file.compose()["services"][service]
        assert spec["image"].startswith("mappa-orchestration:"), f"{service} does not run our image"
        args = [
            str(self.host / compose_file.host_path(service, word)) if word.startswith("/etc/") else word
            for word in command[1:]
        ]
        with self.monkeypatch.context() as patch:
            for name in list(os.environ):
                if name.startswith("MAPPA_") or name == "DATABASE_URL":
                    patch.delenv(name)
            for name, value in self.container_environment(service).items():
                patch.setenv(name, value)
            patch.chdir(self.host)
            status = mappa(args)
        captured = self.capsys.readouterr()
        self.printed.append((command, captured.out))
        return status, captured.out + captured.err


def follow(step: Step, deployment: Deployment) -> None:
    words, host = step.words, deployment.host
    match words:
        case ["export", *_]:
            deployment.variables.update(step.assignments)
        case ["python3", "-m", "core.keyfile", "create", path]:
            # A bare python3 from the checkout: no site-packages, nothing installed.
            out = run(
                [sys.executable, "-S", "-m", "core.keyfile", "create", path],
                {"PYTHONPATH": str(REPO_ROOT)},
                host,
            )
            assert "created payload encryption key file" in out
            assert stat.S_IMODE((host / path).stat().st_mode) == 0o600
        case ["sudo", "chown", uid, path]:
            dockerfile = (REPO_ROOT / "Dockerfile").read_text()
            assert re.search(rf"useradd .*--uid {uid} ", dockerfile), "not the containers' user"
            if os.geteuid() == 0:
                os.chown(host / path, int(uid), -1)
            assert (host / path).is_file()
        case ["cp", source, target]:
            assert (REPO_ROOT / source).is_file(), f"{source} is not in the repository"
            (host / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO_ROOT / source, host / target)
        case ["docker", "compose", "build"]:
            assert (REPO_ROOT / "Dockerfile").is_file()
            built = [s for s in compose_file.compose()["services"].values() if s.get("build")]
            assert built and {s["build"] for s in built} == {"."}
        case ["docker", "compose", "run", "--rm", "--no-deps", service, *command]:
            status, out = deployment.in_container(service, command)
            if command[1:3] == ["directory", "check"] and status != 0:
                # As shipped, the example's addresses are fictional: the check says so, and the area puts in
                # its own ("put in your agencies, addresses and role holders, check it").
                assert "address(es) at example domains" in out, out
                directory = host / compose_file.host_path(service, command[-1])
                directory.write_text(re.sub(r"\.example(?=\.)", "", directory.read_text()))
                status, out = deployment.in_container(service, command)
            assert status == 0, out
        case ["docker", "compose", "up", "-d"]:
            # Temporal's part is the one-shot test above; our database's: the migrate one-shot, then the
            # worker loading the directory it is given, as it does at every start.
            run(
                [str(BIN / "alembic"), *one_shot("migrate")["command"][1:]],
                {**os.environ, "MAPPA_DATABASE_URL": deployment.database_url},
            )
            with deployment.monkeypatch.context() as patch:
                for name, value in deployment.container_environment("worker").items():
                    patch.setenv(name, value)
                patch.chdir(host)
                settings = Settings()
            engine = make_engine(settings.database_url)
            try:
                loaded = load_directory(engine, directory_file(settings))
            finally:
                engine.dispose()
            assert loaded.agencies and not any(".example." in a.spoc_email for a in loaded.agencies)
        case ["docker", "compose", "ps", "--all"]:
            named = set(re.findall(r"[a-z-]+", step.comment.partition(":")[0]))
            assert named == compose_file.ONE_SHOT_SERVICES, step.comment
        case ["docker", "compose", "exec", service, *command]:
            assert service not in compose_file.ONE_SHOT_SERVICES, f"{service} is not running to exec into"
            status, out = deployment.in_container(service, command)
            assert status == 0, out
        case _:
            pytest.fail(f"the README's deployment step {' '.join(words)!r} is not one this test follows")


@pytest.fixture
def deployment(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Deployment]:
    host = tmp_path / "checkout"
    host.mkdir()
    with postgres_schema(postgres_url, prefix="deploy") as url:
        yield Deployment(host, url, monkeypatch, capsys)


def test_the_readme_deployment_steps_followed_line_by_line(deployment: Deployment) -> None:
    steps = compose_file.deployment_steps()
    assert len(steps) >= 10

    for step in steps:
        follow(step, deployment)

    public = deployment.variables["MAPPA_PUBLIC_API_URL"]
    outputs = {" ".join(command[1:3]): out for command, out in deployment.printed}
    token = outputs["tokens issue"].strip().splitlines()[-1]
    feed = outputs["calendar issue"].strip().splitlines()[-1]
    assert token.startswith("mappa_")
    assert feed.startswith(f"{public}/calendars/mappacal_") and feed.endswith(".ics")
    listing = json.loads(outputs["tokens list"])
    assert [(t["user"], t["role"], t["area"]) for t in listing] == [("morag", "co-ordinator", "lanarkshire")]
    engine = make_engine(deployment.database_url)
    try:
        with Session(engine) as session:
            assert session.scalars(select(ApiToken.user_name)).all() == ["morag"]
            assert session.scalars(select(CalendarFeed.agency_id)).all() == ["nhs-lanarkshire"]
    finally:
        engine.dispose()
