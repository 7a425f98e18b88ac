"""One name per event across the layers, and the tables agree: every agency event has exactly one handler in the
core's stage table, one update on the workflow taking its type (named as the handler), one API route and one
permission entry. A new event missing from any of them fails here, not in production."""

import inspect
import subprocess
import sys
from collections import Counter

from temporalio import workflow

from api.app import app
from api.auth import EVENT_PERMISSIONS
from api.routes.cases import EVENT_ROUTES
from workflows.case import MappaCaseWorkflow
from workflows.messages import EVENT_UPDATES
from workflows.rules import events as ev
from workflows.rules.stages import STAGE_TABLE

# Models in events.py that are parts of an event or of the case opening (which starts the workflow), not events
# sent to an open case.
PARTS = {
    ev.Event,
    ev.SubjectDetails,
    ev.Notification,
    ev.CaseOpening,
    ev.Attendee,
    ev.NotToBeShared,
    ev.RmpActionSet,
    ev.CourtDisposal,
    ev.UpcomingRelease,
    ev.HospitalDischarge,
    ev.ChildAtRisk,
}
# Events with a route of their own rather than a row of the cases router's table.
OWN_ROUTE = {ev.MinuteFiled}
CASE_EVENTS = {
    cls
    for _, cls in inspect.getmembers(ev, inspect.isclass)
    # Every event the case takes, wherever it is defined (events.py re-exports the safeguarding events).
    if issubclass(cls, ev.Event) and cls is not ev.Event and cls not in PARTS
}


def test_every_event_has_exactly_one_handler_in_the_stage_table() -> None:
    assert set(STAGE_TABLE) == CASE_EVENTS
    handlers = [handler for _, handler in STAGE_TABLE.values()]
    assert len(set(handlers)) == len(handlers), "a handler serves two events"


def test_every_event_travels_through_exactly_one_update_named_as_its_handler() -> None:
    updates = workflow._Definition.from_class(MappaCaseWorkflow).updates
    taking = Counter(defn.arg_types[0] for defn in updates.values() if defn.arg_types)
    for event in CASE_EVENTS:
        assert taking[event] == 1, f"{event.__name__}: {taking[event]} updates take it"
        name = EVENT_UPDATES[event]
        assert updates[name].arg_types == [event], name
        assert STAGE_TABLE[event][1].__name__ == name, f"{event.__name__}: handler and update names differ"
    assert set(EVENT_UPDATES) == CASE_EVENTS


def test_every_event_has_one_route_and_one_permission() -> None:
    # Each event's route is named as its update: the table's routes, and the minute's own (it carries the text).
    paths = app.openapi()["paths"].values()
    operations = Counter(path["post"]["operationId"] for path in paths if "post" in path)
    for event in CASE_EVENTS:
        assert operations[EVENT_UPDATES[event]] == 1, (
            f"{event.__name__}: {operations[EVENT_UPDATES[event]]} routes"
        )
    tabled = Counter(route.event for route in EVENT_ROUTES)
    assert tabled == Counter(CASE_EVENTS - OWN_ROUTE)
    assert len({route.path for route in EVENT_ROUTES}) == len(EVENT_ROUTES)
    assert set(EVENT_PERMISSIONS) == CASE_EVENTS


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
