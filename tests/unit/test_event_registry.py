"""One row per event: the core's event registry (workflows/rules/registry.py) is the single source of what each
agency event is, and every layer takes its events from it. Adding an event is its model, its handler and one
row; a new event missing from the registry, or a table kept beside it, fails here, not in production."""

import ast
import inspect
import subprocess
import sys
from pathlib import Path

from fastapi.routing import APIRoute
from temporalio import workflow

from api.auth import EVENT_PERMISSIONS, RECORD_MINUTE
from api.routes.cases import EVENT_ROUTES, router
from workflows.case import MappaCaseWorkflow
from workflows.messages import EVENT_UPDATES
from workflows.rules import events as ev
from workflows.rules.registry import EVENT_TABLE, EVENTS

ROOT = Path(__file__).resolve().parents[2]

# Models in events.py that are parts of an event or of the case opening (which starts the workflow), not events
# sent to an open case.
PARTS = {
    ev.Event,
    ev.SubjectDetails,
    ev.Notification,
    ev.CaseOpening,
    ev.OpeningRequest,
    ev.Attendee,
    ev.NotToBeShared,
    ev.RmpActionSet,
    ev.CourtDisposal,
    ev.UpcomingRelease,
    ev.HospitalDischarge,
    ev.ChildAtRisk,
}
CASE_EVENTS = {
    cls
    for _, cls in inspect.getmembers(ev, inspect.isclass)
    # Every event the case takes, wherever it is defined (events.py re-exports the safeguarding events).
    if issubclass(cls, ev.Event) and cls is not ev.Event and cls not in PARTS
}


def test_every_event_has_exactly_one_row_with_its_own_handler_path_and_update() -> None:
    events = [row.event for row in EVENTS]
    assert sorted(e.__name__ for e in events) == sorted(e.__name__ for e in CASE_EVENTS)
    assert len(set(events)) == len(events) == len(EVENT_TABLE)
    for column in ("handler", "path", "update"):
        values = [getattr(row, column) for row in EVENTS if getattr(row, column) is not None]
        assert len(set(values)) == len(values), f"two events share a {column}"


def test_the_workflow_takes_each_event_through_the_update_its_row_names_and_no_other() -> None:
    updates = workflow._Definition.from_class(MappaCaseWorkflow).updates
    assert set(updates) == {row.update for row in EVENTS}
    for row in EVENTS:
        update = updates[row.update]
        assert update.arg_types == [row.event], row.update
        assert update.validator is not None, f"{row.update} enters history unchecked"
    assert {row.event: row.update for row in EVENTS} == EVENT_UPDATES


def test_the_api_offers_each_event_at_its_rows_path_with_its_rows_permission() -> None:
    routes = {route.path: route for route in router.routes if isinstance(route, APIRoute)}
    assert [route.row for route in EVENT_ROUTES] == [row for row in EVENTS if row.path is not None]
    # A row without a path has a route of its own that sends the event after its own work (a minute is
    # filed with its text): that route takes its permission from the row too.
    assert [row.event for row in EVENTS if row.path is None] == [ev.MinuteFiled]
    assert RECORD_MINUTE.roles == EVENT_PERMISSIONS[ev.MinuteFiled].roles
    for row in EVENTS:
        if row.path is None:
            continue
        route = routes[f"/cases/{{case_ref}}/{row.path}"]
        assert (route.methods, route.operation_id, route.summary) == ({"POST"}, row.update, row.summary)
        assert route.description.startswith(row.description)
        assert [p.field_info.annotation for p in route.dependant.body_params] == [row.event], row.path
        assert EVENT_PERMISSIONS[row.event] is row.permission


def _event_tables(path: Path) -> list[int]:
    """Lines of `path` where a dict, tuple, list or set literal names five or more events: a table of events."""
    names = {cls.__name__ for cls in CASE_EVENTS}
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Dict | ast.Tuple | ast.List | ast.Set):
            named = {
                n.attr
                for n in ast.walk(node)
                if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "ev"
            }
            if len(named & names) >= 5:
                found.append(node.lineno)
    return found


def test_no_table_of_events_is_kept_beside_the_registry() -> None:
    # Stage table, permissions, update names and routes are all derived from the rows; a hand-kept copy drifts.
    tables = {
        str(path.relative_to(ROOT)): lines
        for package in ("workflows", "api", "store", "activities", "worker")
        for path in sorted((ROOT / package).rglob("*.py"))
        if (lines := _event_tables(path)) and path.name != "registry.py"
    }
    assert tables == {}
    assert _event_tables(ROOT / "workflows" / "rules" / "registry.py"), "the registry itself should be found"


def test_importing_the_statutory_core_needs_only_the_standard_library_pydantic_and_holidays() -> None:
    script = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import workflows.rules.case, workflows.rules.stages, workflows.rules.deadlines\n"
        "for name in sorted(set(sys.modules) - before):\n"
        "    print(name)\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout.split()
    # _sysconfigdata_* is the standard library's build configuration, named per platform.
    top = {name.split(".")[0] for name in loaded if not name.startswith("_sysconfigdata")}
    allowed = set(sys.stdlib_module_names) | {
        "workflows",
        "pydantic",
        "pydantic_core",
        "holidays",
        # what pydantic and holidays bring with them
        "annotated_types",
        "typing_extensions",
        "typing_inspection",
        "dateutil",
        "six",
    }
    assert sorted(top - allowed) == []
    assert not [
        name for name in loaded if name.startswith("workflows.") and not name.startswith("workflows.rules")
    ]
