"""The packages import downwards only: core below everything, the statutory core below the workflow, store
below the edges. A reader can then understand each layer without the ones above it."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"core", "workflows", "activities", "store", "worker", "api", "cli", "bench"}

# What each package may import of ours (besides itself), from the bottom up: the workflow and its statutory
# core stand alone (the sandbox re-imports them); the worker assembles; the CLI and the bench sit on top.
ALLOWED = {
    "core": set(),
    "workflows": set(),
    "store": {"core", "workflows"},
    "activities": {"core", "store", "workflows"},
    "api": {"core", "store", "workflows"},
    # api: the import's activity (api/import_jobs.py) opens each row's case through the API's own case service
    # (reservation, audit row, start); to move below api once the row-to-case mapping lives there.
    "worker": {"core", "store", "workflows", "activities", "api"},
    "cli": {"core", "store", "workflows", "activities", "worker", "api"},
    "bench": {"core", "store", "workflows", "activities", "worker", "api", "cli"},
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


def test_the_statutory_core_imports_nothing_of_the_workflow_around_it() -> None:
    """workflows/rules/ is the pure core: the workflow orchestrates it, never the other way round."""
    upward: dict[str, list[str]] = {}
    for path in (ROOT / "workflows" / "rules").rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        modules = [
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
        ] + [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        outside = [m for m in modules if m.startswith("workflows") and not m.startswith("workflows.rules")]
        if outside:
            upward[str(path.relative_to(ROOT))] = outside
    assert upward == {}


# ------------------------------------------------------------------ inside the statutory core

RULES = ROOT / "workflows" / "rules"

# The statutory core from the bottom up: a module imports only modules before it in this list, so each can be
# read knowing only what precedes it, and a new module must say where it sits.
RULES_BOTTOM_UP = (
    # words, numbers and the calendar
    "errors",
    "actors",
    "rule_changes",
    "timescales",
    "calendar",
    "working_copy",
    # what agencies send
    "event_fields",
    "meeting_events",
    "management_events",
    "recall_events",
    "safeguarding_events",
    "transfer_events",
    "events",
    # every timescale as data, per area
    "rule_tables",
    "policy",
    # the case file's records, a deadline and its arithmetic, who may meet it
    "records",
    "chronology",
    "due_dates",
    "ownership",
    # the case file's state, and what happens to a deadline on it
    "case_state",
    "deadlines",
    # the stages (DOMAIN.md), each rule in its stage's module, those other stages use first
    "information_exchange",
    "asp_side",
    "safeguarding",
    "exit",
    "level_1",
    "management",
    "meeting_checks",
    "minute_reads",
    "confidentiality",
    "initial_meeting",
    "meeting_schedule",
    "meetings",
    "recall",
    "pre_notification",
    "eligibility",
    "referral",
    "transfer",
    # a case brought in already in progress: its row, then the events it stands for
    "imported_row",
    "imported",
    "imported_before_events",
    # which stages take each event, one row per event, then the case file that applies them
    "stages",
    "registry",
    "case",
    # readers of a case file, and of many cases' records
    "involvement",
    "annual_figures",
    "earlier_cases",
)


def rules_imports(path: Path, ours: set[str]) -> set[str]:
    """The modules of `ours` that `path` imports: at the top, inside functions and under TYPE_CHECKING alike."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[2] for a in node.names if a.name.startswith("workflows.rules.")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "workflows.rules":
                found |= {a.name for a in node.names}
            elif node.module.startswith("workflows.rules."):
                found.add(node.module.split(".")[2])
        elif isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
    return (found & ours) - {path.stem, "__init__"}


def rules_graph(folder: Path = RULES) -> dict[str, set[str]]:
    """Which modules of the core each module imports."""
    ours = {path.stem for path in folder.glob("*.py")} - {"__init__"}
    return {path.stem: rules_imports(path, ours) for path in folder.glob("*.py") if path.stem in ours}


def a_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `graph` (its modules in import order, the first repeated at the end), or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        path.append(module)
        for imported in sorted(graph[module]):
            if cycle := visit(imported):
                return cycle
        path.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        if cycle := visit(module):
            return cycle
    return None


def test_the_statutory_core_has_no_import_cycle_not_even_for_type_checking() -> None:
    assert a_cycle(rules_graph()) is None


def test_the_cycle_finder_finds_a_cycle_through_a_type_checking_import(tmp_path: Path) -> None:
    """The check above could not pass by missing one: an import under TYPE_CHECKING closes a cycle here."""
    (tmp_path / "case.py").write_text("from workflows.rules.stages import STAGE_TABLE\n")
    (tmp_path / "stages.py").write_text("from workflows.rules import meetings\n")
    (tmp_path / "meetings.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from workflows.rules.case import CaseFile\n"
    )
    assert a_cycle(rules_graph(tmp_path)) == ["case", "stages", "meetings", "case"]


def test_every_module_of_the_statutory_core_has_its_place_in_the_order() -> None:
    assert sorted(RULES_BOTTOM_UP) == sorted(rules_graph())
    assert len(set(RULES_BOTTOM_UP)) == len(RULES_BOTTOM_UP)


def test_no_module_of_the_statutory_core_imports_one_above_it() -> None:
    place = {module: n for n, module in enumerate(RULES_BOTTOM_UP)}
    upward = {
        module: sorted(m for m in imported if place.get(m, -1) >= place.get(module, -1))
        for module, imported in rules_graph().items()
    }
    assert {module: above for module, above in upward.items() if above} == {}


MAX_MODULE_LINES = 420
MAX_FUNCTION_LINES = 60


def test_the_statutory_core_is_read_in_short_modules_and_short_functions() -> None:
    long_modules, long_functions = {}, {}
    for path in sorted(RULES.glob("*.py")):
        text = path.read_text()
        if (lines := len(text.splitlines())) > MAX_MODULE_LINES:
            long_modules[path.stem] = lines
        for node in ast.walk(ast.parse(text, str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions[f"{path.stem}.{node.name}"] = length
    assert long_modules == {}
    assert long_functions == {}
