"""Every file and folder of the repository the README names exists: a reader who follows a path finds it."""

import os
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {".git", ".venv", "data", "secrets", "build", "__pycache__", ".mypy_cache", ".pytest_cache"}
# Named by the README but made when the system runs, never kept in the repository.
MADE_AT_RUN_TIME = (
    "data/",  # `make dev`: the SQLite files, the development key, the mailbox, the demo tokens
    "secrets/codec.key",  # the deployment's key, made by a step of "Deploying with docker compose"
    "deploy/config/agency-directory.json",  # the deployment's directory, made from the example
    "bench/results/",  # written by `make bench`
    "compliance.csv",  # written by the curl example
)
EXTENSIONS = "py|md|yml|yaml|json|jsonl|csv|ini|sh|toml|j2|html|key|db|txt"
FILE = re.compile(rf"(?<![\w./$-])((?:[\w.-]+/)*[\w.-]+\.(?:{EXTENSIONS}))(?![\w/-])")
FOLDER = re.compile(r"`((?:[\w.-]+/)+)`")
NOT_PATHS = re.compile(r"https?://\S+|\$API\S*|localhost:\S+|[\w.-]+@[\w.-]+")


def repository_paths() -> list[str]:
    found = []
    for directory, folders, files in os.walk(REPO_ROOT):
        folders[:] = [f for f in folders if f not in SKIPPED_DIRS and not f.startswith(".")]
        relative = Path(directory).relative_to(REPO_ROOT)
        found += [(relative / f).as_posix() + "/" for f in folders]
        found += [(relative / f).as_posix() for f in files]
    return found


def named_paths(text: str) -> set[str]:
    text = NOT_PATHS.sub(" ", text)
    return set(FILE.findall(text)) | set(FOLDER.findall(text))


def exists(name: str, paths: list[str]) -> bool:
    if name.startswith(MADE_AT_RUN_TIME):
        return True
    if (REPO_ROOT / name).exists():
        return True
    # A name relative to a folder the sentence is about ("`tests/`: `unit/`, `e2e/`"; "`policy.py`").
    return any(p == name or p.endswith("/" + name) for p in paths)


def test_every_path_the_readme_names_is_in_the_repository() -> None:
    paths = repository_paths()
    named = named_paths((REPO_ROOT / "README.md").read_text())
    assert {"core/settings.py", "docs/SOURCES.md", "docker-compose.yml"} <= named

    missing = sorted(name for name in named if not exists(name, paths))

    assert not missing, f"README.md names paths that are not in the repository: {missing}"


def test_the_check_would_catch_a_moved_file_and_a_document_outside_the_repository() -> None:
    paths = repository_paths()
    named = named_paths(
        "Settings are in `worker/settings.py`; one module per stage of DOMAIN.md; see $API/docs."
    )
    assert named == {"worker/settings.py", "DOMAIN.md"}
    assert [name for name in sorted(named) if not exists(name, paths)] == ["DOMAIN.md", "worker/settings.py"]


def test_the_docs_name_only_paths_in_the_repository() -> None:
    paths = repository_paths()
    for document in (REPO_ROOT / "docs").glob("*.md"):
        missing = sorted(name for name in named_paths(document.read_text()) if not exists(name, paths))
        assert not missing, f"{document.name} names paths that are not in the repository: {missing}"
