"""docker-compose.yml and the README's deployment steps, read the way Docker Compose and a shell would read them,
for the tests that check the deployment without a container engine."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
README = REPO_ROOT / "README.md"
DEPLOYMENT_HEADING = "## Deploying with docker compose"
ONE_SHOT_SERVICES = {"temporal-schema", "temporal-setup", "migrate", "schedules"}
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}
VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return document


def variables_read() -> dict[str, str | None]:
    """Each variable the compose file interpolates: its default, or None when it is required."""
    found: dict[str, str | None] = {}
    for name, operator, rest in VARIABLE.findall(COMPOSE_FILE.read_text()):
        if operator.endswith("?"):
            found[name] = None
        else:
            found.setdefault(name, rest if operator.endswith("-") else "")
    return found


def interpolate(value: str, variables: dict[str, str]) -> str:
    """As Compose interpolates a value: a required variable that is unset is an error naming it."""

    def substitute(match: re.Match[str]) -> str:
        name, operator, rest = match.groups()
        if variables.get(name):
            return variables[name]
        if operator and operator.endswith("?"):
            raise LookupError(f"{name} is required: {rest}")
        return rest if operator and operator.endswith("-") else ""

    return VARIABLE.sub(substitute, value)


def shell_text(value: str, variables: dict[str, str]) -> str:
    """A command as the container's shell receives it: variables interpolated, `$$` a literal `$`."""
    return interpolate(value.replace("$$", "\0"), variables).replace("\0", "$")


def environment(service: str, variables: dict[str, str]) -> dict[str, str]:
    raw: dict[str, Any] = compose()["services"][service].get("environment", {})
    return {name: interpolate(str(value), variables) for name, value in raw.items()}


def host_path(service: str, inside: str) -> Path:
    """The repository path (relative to the compose file) that a service sees at the container path
    `inside`, through its volumes or its secrets."""
    spec = compose()
    for volume in spec["services"][service].get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./") and (inside == target or inside.startswith(target.rstrip("/") + "/")):
            return Path(source) / inside[len(target) :].lstrip("/")
    for secret in spec["services"][service].get("secrets", []):
        if inside == f"/run/secrets/{secret}":
            return Path(spec["secrets"][secret]["file"])
    raise LookupError(f"{service} sees nothing of the host at {inside}")


@dataclass
class Step:
    """One command line of the README's deployment steps, with the comment that precedes it."""

    words: list[str]
    comment: str = ""
    assignments: dict[str, str] = field(default_factory=dict)


def deployment_section() -> str:
    text = README.read_text()
    start = text.index(DEPLOYMENT_HEADING)
    end = text.index("\n## ", start + len(DEPLOYMENT_HEADING))
    return text[start:end]


def deployment_steps() -> list[Step]:
    """The section's shell block, line by line, as a shell splits it (comments dropped)."""
    section = deployment_section()
    block = section[section.index("```bash\n") + len("```bash\n") :]
    block = block[: block.index("```")]
    steps: list[Step] = []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        step = Step(words, comment=line.partition("  #")[2].strip())
        if words[0] == "export":
            step.assignments = dict(word.split("=", 1) for word in words[1:])
        steps.append(step)
    return steps


def documented_variables() -> set[str]:
    """The variables the deployment section's table names (its first column)."""
    rows = re.findall(r"^\| (.+?) \|", deployment_section(), re.MULTILINE)
    return {name for row in rows for name in re.findall(r"`(\w+)`", row)}


def made_by_steps() -> set[Path]:
    """The host paths the deployment steps make: the key file, and the directory copied from the example."""
    made: set[Path] = set()
    for step in deployment_steps():
        if step.words[:4] == ["python3", "-m", "core.keyfile", "create"]:
            made.add(Path(step.words[4]))
        elif step.words[0] == "cp":
            made.add(Path(step.words[2]))
    return made


def exported() -> dict[str, str]:
    """The variables the steps export, with the README's values."""
    return {name: value for step in deployment_steps() for name, value in step.assignments.items()}
