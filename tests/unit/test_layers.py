"""The packages import downwards only: core below everything, the statutory core below the workflow, store
below the edges. A reader can then understand each layer without the ones above it."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"core", "workflows", "activities", "store", "worker", "api", "cli", "bench"}

# What each package may import of ours (besides itself).
ALLOWED = {
    "core": set(),
    "store": {"core", "workflows"},
    "activities": {"core", "store", "workflows"},
    "api": {"core", "store", "workflows"},
}


def our_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_the_layers_below_it(package: str) -> None:
    upward = {
        str(path.relative_to(ROOT)): sorted(our_imports(path) - ALLOWED[package] - {package})
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }
    assert {file: names for file, names in upward.items() if names} == {}
