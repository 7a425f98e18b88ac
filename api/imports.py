"""Bulk import of cases already in progress: read a file, check every row in the core, then start them.

One row is one case at its current stage (the template is in the README; docs/import-example.csv is an example
with fictional data). Each row becomes a `CaseOpening` (area, category, lead agency, the subject) and an
`ImportedPosition` (stage, level, dates, open RMP actions, outstanding searches): `CaseFile.open` decides its
deadlines exactly as the workflow will. A dry run is that check and nothing else: it reports, for every row,
what the case would owe and when, and every refusal with its line, field and rule.

A real run checks the same way, then for each row reserves a case reference in `case_openings` under the row's
own reference (`import_ref`, sender `import:<area>`) together with the row's audit entry, and starts the workflow
with the `ImportRef` search attribute. A re-run finds the reservation: a row already started starts nothing, a
row reserved by a run that died before starting is started now, and the same reference with other content is
refused. Starts run a bounded number at a time, through the same `start_case` as the API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.case_service import new_case_ref, start_case
from api.idempotency import request_hash
from api.import_reading import (
    FileFormat,
    RawRow,
    RowSplitter,
    in_template_words,
    number_cell,
    raw_rows,
    split_rows,
)
from api.openings import NewCase
from core.codec import KeyRing
from store.directory import AgencyDirectory, DirectoryFile, DirectoryRefusal
from store.models import AuditEvent, AuditOutcome
from store.models import CaseOpening as CaseOpeningRow
from store.person_links import add_links
from workflows import search_attributes as sa
from workflows.rules import events as ev
from workflows.rules.calendar import local_date
from workflows.rules.case import CaseFile
from workflows.rules.deadlines import re_escalation_route
from workflows.rules.errors import CaseRuleError
from workflows.rules.imported import ExpectedMail, PastAtImport, expected_mail
from workflows.rules.imported_row import (
    IMPORT_REF_PATTERN,
    ImportedPosition,
    ImportedRmpAction,
    ImportedStage,
)
from workflows.rules.policy import AREAS, area_policy
from workflows.rules.records import CO_ORDINATOR

IMPORT_ACTION = "import a case"
DEFAULT_CONCURRENCY = 16
# Cells that hold a list: separated by ';' in CSV (a JSON array in JSON Lines is taken as it is).
LIST_SEPARATOR = ";"
_NUMBERS = ("category", "level", "level_sought")
MAX_MESSAGE_CHARS = 300
_AGENCY_COLUMNS = ("lead_agency", "referring_agency", "chair_agency", "asp_chair_agency")
_NO_LEVEL_YET = ("notification", "referral-due", "referral")


class ImportRow(BaseModel):
    """One row of an import file: a case at its current stage. Every column is a field here (README)."""

    model_config = ev.Event.model_config

    import_ref: str = Field(pattern=IMPORT_REF_PATTERN)
    area: str
    category: Literal[1, 2, 3, 4]
    lead_agency: ev.AgencyId
    route: ev.EntryRoute = ev.EntryRoute.COMMUNITY
    stage: ImportedStage
    level: Literal[1, 2, 3] | None = None
    subject_name: ev.PersonName
    subject_date_of_birth: ev.BirthDate
    subject_address: ev.ShortText
    visor_ref: str | None = Field(default=None, max_length=64)
    swis_ref: str | None = Field(default=None, max_length=64)
    notified_on: ev.HappenedOn | None = None
    screened_on: ev.HappenedOn | None = None
    referral_received_on: ev.HappenedOn | None = None
    referring_agency: ev.AgencyId | None = None
    level_sought: Literal[2, 3] | None = None
    level_2_cannot_deliver: ev.ShortText | None = None
    level_3_criteria: list[ev.Level3Criterion] = ev.level_3_criteria_field()
    asp_screened_on: ev.HappenedOn | None = None
    accepted_on: ev.HappenedOn | None = None
    pre_meeting_information_sent_on: ev.HappenedOn | None = None
    last_meeting_on: ev.HappenedOn | None = None
    chair_agency: ev.AgencyId | None = None
    # An ASP case conference's chair (000): the co-ordinator, who imports, names it as on a live opening.
    asp_chair_agency: ev.AgencyId | None = None
    next_review_date: ev.PlannedFor | None = None
    release_date: ev.ReleaseDate | None = None
    discharge_date: ev.ReleaseDate | None = None
    sonr_end_date: ev.SonrEndDate | None = None
    # Category 2 and 3: when the supervision or licence that brought the case into MAPPA ends (exit planning).
    licence_end_date: ev.SonrEndDate | None = None
    rmp_actions: list[ImportedRmpAction] = Field(default_factory=list, max_length=60)
    searches_outstanding: list[ev.AgencyId] = Field(default_factory=list, max_length=30)
    level_1_plan_recorded_on: ev.HappenedOn | None = None
    level_1_reviewed_on: ev.HappenedOn | None = None

    def opening(self) -> NewCase:
        """The row's opening: each field of the opening that the file has a column for (`_COLUMN_OF`)."""
        cells = self.model_dump()

        def given(names: Iterable[str], prefix: str = "") -> dict[str, Any]:
            columns = {name: _COLUMN_OF.get(prefix + name, name) for name in names}
            return {name: cells[column] for name, column in columns.items() if column in cells}

        values = given(NewCase.model_fields) | {"subject": given(ev.SubjectDetails.model_fields, "subject.")}
        area = AREAS.get(self.area)
        # The area fixes the jurisdiction; an unknown area is refused by NewCase itself.
        values["jurisdiction"] = area.jurisdiction if area else ev.Jurisdiction.SCOTLAND
        return NewCase.model_validate(values)

    def position(self) -> ImportedPosition:
        names = ImportedPosition.model_fields.keys()
        return ImportedPosition.model_validate({k: v for k, v in self.model_dump().items() if k in names})


# Where the core names a field of the opening, the file names a column (else the column has the field's name).
_COLUMN_OF = {
    "subject.name": "subject_name",
    "subject.date_of_birth": "subject_date_of_birth",
    "subject.address": "subject_address",
    "subject.visor_ref": "visor_ref",
    "subject.swis_ref": "swis_ref",
    "supervision_end_date": "licence_end_date",
}


def _column(dotted: str | None) -> str | None:
    if dotted is None:
        return None
    if dotted in _COLUMN_OF:
        return _COLUMN_OF[dotted]
    return dotted.split(".")[0]


@dataclass(frozen=True)
class RowError:
    line: int
    field: str | None
    rule: str
    message: str

    def __post_init__(self) -> None:
        # A refusal may quote what it refused: a hostile cell is not echoed whole into the report.
        if len(self.message) > MAX_MESSAGE_CHARS:
            object.__setattr__(self, "message", self.message[: MAX_MESSAGE_CHARS - 3] + "...")

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.field}" if self.field else "")
        return f"{where}: {self.message} [{self.rule}]"


@dataclass(frozen=True)
class OwedDeadline:
    deadline_id: str
    kind: str
    title: str
    responsible: str
    due_at: datetime
    due_date: Any
    breached: bool
    # A breach already past at the import: who hears of it if it is still not met two working days later.
    re_escalated_to: str | None = None


@dataclass
class CheckedRow:
    """A row the core accepted: the case it opens and the deadlines it would owe now."""

    line: int
    row: ImportRow
    opening: ev.CaseOpening
    position: ImportedPosition
    stage: str
    level: int | None
    owes: list[OwedDeadline]
    imported_as: str | None = None  # the case an earlier import of the same row started (dry run)

    def past_at_import(self, case_ref: str) -> list[PastAtImport]:
        """The deadlines already past when this row's case (`case_ref`) was imported."""
        return [
            PastAtImport(case_ref, d.kind, d.title, d.due_date, d.re_escalated_to or CO_ORDINATOR)
            for d in self.owes
            if d.breached
        ]


@dataclass
class FileCheck:
    rows: list[CheckedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    read: int = 0

    def areas(self) -> list[str]:
        return sorted({r.row.area for r in self.rows})

    def past_at_import(self, area: str, case_refs: dict[int, str] | None = None) -> list[PastAtImport]:
        """The area's deadlines already past at the import, by case (`case_refs`: line -> the case each row
        started; without it, every row, named by its import reference)."""
        return [
            past
            for r in self.rows
            if r.row.area == area and (case_refs is None or r.line in case_refs)
            for past in r.past_at_import(case_refs[r.line] if case_refs is not None else r.row.import_ref)
        ]

    def expected_mail(self, now: datetime) -> list[tuple[str, ExpectedMail]]:
        """Who the import would e-mail in each area, how many times and when (the dry run's answer)."""
        return [
            (area, mail)
            for area in self.areas()
            for mail in expected_mail(area_policy(area), self.past_at_import(area), now)
        ]


# ------------------------------------------------------------------------------------------ the directory


# The directory an import is checked against: the one check of every named agency (store/directory.py).
Directory = AgencyDirectory


def directory_from_file(entries: DirectoryFile) -> Directory:
    return AgencyDirectory.of_file(entries)


def directory_in(session: Session) -> Directory:
    return AgencyDirectory.read(session)


def _named_agencies(values: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(column, agency id) for every agency a row names, in any shape the row's cells are in."""
    for column in _AGENCY_COLUMNS:
        yield column, values.get(column)
    for agency in values.get("searches_outstanding") or []:
        yield "searches_outstanding", agency
    for action in values.get("rmp_actions") or []:
        yield "rmp_actions", action.get("owner_agency") if isinstance(action, dict) else None


def _directory_errors(line: int, values: Mapping[str, Any], directory: Directory) -> list[RowError]:
    area = values.get("area")
    if not isinstance(area, str) or area not in AREAS:
        return []
    errors: list[RowError] = []
    for column, agency in _named_agencies(values):
        if not isinstance(agency, str):
            continue
        try:
            directory.check_agency(area, column, agency)
        except DirectoryRefusal as refusal:
            errors.append(RowError(line, column, refusal.rule, refusal.message))
    return errors


def _level_errors(line: int, values: Mapping[str, Any]) -> list[RowError]:
    """A level is decided when the referral is accepted: a case not yet past its referral has none."""
    stage = values.get("stage")
    if values.get("level") is not None and stage in _NO_LEVEL_YET:
        return [
            RowError(
                line,
                "level",
                "imported case level",
                f"a case at stage '{stage}' has no level yet (it is decided when the referral is accepted): "
                "leave level empty",
            )
        ]
    return []


# ------------------------------------------------------------------------------------------ reading


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [part.strip() for part in str(value).split(LIST_SEPARATOR) if part.strip()]


def _rmp_actions(value: Any) -> list[Any]:
    """`ID owner-agency YYYY-MM-DD` items (CSV), or objects (JSON Lines)."""
    actions: list[Any] = []
    for item in _listed(value):
        if not isinstance(item, str):
            actions.append(item)
            continue
        parts = item.split()
        if len(parts) != 3:
            raise ValueError("give each RMP action as 'ID owner-agency YYYY-MM-DD', separated by ';'")
        actions.append({"action_id": parts[0], "owner_agency": parts[1], "due_date": parts[2]})
    return actions


def _validation_errors(line: int, error: ValidationError) -> list[RowError]:
    found = []
    for e in error.errors(include_input=False, include_url=False):
        column = _column(".".join(str(p) for p in e["loc"])) or None
        if column is not None and column not in ImportRow.model_fields:
            column = _short(column)
        found.append(RowError(line, column, "column format", in_template_words(e, column)))
    return found


def _short(name: str) -> str:
    return name if len(name) <= 40 else name[:37] + "..."


def read_row(raw: RawRow, directory: Directory | None = None) -> ImportRow | list[RowError]:
    """The row's cells as an `ImportRow`, or every fault the row's cells show (not only the first): its text,
    each column's form, each agency against the directory, a level given too early."""
    line = raw.line
    if any(e.column is None for e in raw.errors):  # the row could not be read as cells at all
        return [RowError(line, None, "file format", e.message) for e in raw.errors]
    errors = [RowError(line, e.column, "column format", e.message) for e in raw.errors]
    bad_cells = {e.column for e in raw.errors}
    values = {k.strip(): _cell(v) for k, v in raw.cells.items() if isinstance(k, str)}
    values = {k: v for k, v in values.items() if v is not None}
    for number in _NUMBERS:  # a CSV cell is text; a Literal[1, 2, 3] takes only the number
        if number in values:
            values[number] = number_cell(values[number])
    try:
        if "rmp_actions" in values:
            values["rmp_actions"] = _rmp_actions(values["rmp_actions"])
    except ValueError as error:
        errors.append(RowError(line, "rmp_actions", "column format", str(error)))
        del values["rmp_actions"]
    for listed in ("searches_outstanding", "level_3_criteria"):
        if listed in values:
            values[listed] = _listed(values[listed])
    if directory is not None:
        errors += _directory_errors(line, values, directory)
    errors += _level_errors(line, values)
    try:
        row = ImportRow.model_validate(values)
    except ValidationError as error:
        return errors + [e for e in _validation_errors(line, error) if e.field not in bad_cells]
    except RecursionError:
        return [
            *errors,
            RowError(line, None, "file format", "not a row: nested more deeply than a row can be"),
        ]
    return errors or row


def parse_row(line: int, cells: dict[str, Any]) -> ImportRow | list[RowError]:
    """One row given as a mapping of column to cell (as a test or a JSON object gives it)."""
    return read_row(RawRow(line, dict(cells)))


# ------------------------------------------------------------------------------------------ checking


def check_row(
    line: int, row: ImportRow, now: datetime, area: str | None = None
) -> CheckedRow | list[RowError]:
    """The row as the core sees it: its dates inside their windows, and the case opened as the workflow will."""
    if area is not None and row.area != area:
        return [RowError(line, "area", "area", f"this import is for {area}; the row is in {row.area}")]
    try:
        new_case = row.opening()
        position = row.position()
    except ValidationError as error:
        return _validation_errors(line, error)
    today = local_date(now)
    outside = [*ev.dates_outside_window(new_case, today), *ev.dates_outside_window(position, today)]
    errors = [RowError(line, _column(o.field), "plausible dates", o.message) for o in outside]
    errors += [
        RowError(line, _column(r.field), "ids in plaintext", r.message)
        for r in ev.ids_outside_pattern(position)
    ]
    opening = new_case.with_reference(new_case_ref(AREAS[row.area].code, now))
    # The import's moment is each case's go-live: what fell due before it is pre-go-live, in the case's record
    # as in the import's one summary to the co-ordinator.
    position = position.model_copy(update={"as_of": now})
    try:
        case = CaseFile.open(opening, now, imported=position)
    except CaseRuleError as error:
        return [*errors, RowError(line, _column(error.field), error.rule, error.message)]
    except (ValueError, OverflowError) as error:
        return [
            *errors,
            RowError(line, None, "plausible dates", f"the case's deadlines cannot be computed ({error})"),
        ]
    if errors:
        return errors
    case.tick(now)  # what is already past falls due at once: the dry run shows it breached
    owes = [
        OwedDeadline(
            d.deadline_id,
            d.kind.value,
            d.title,
            d.responsible,
            d.due_at,
            d.due_date,
            d.breached_at is not None,
            re_escalation_route(case, d)[0] if d.breached_at is not None else None,
        )
        for d in case.open_deadlines()
    ]
    return CheckedRow(line, row, opening, position, case.stage.value, case.level, owes)


@dataclass
class ReadRows:
    """A file's rows as read: those whose cells are well formed, and every fault of the others."""

    rows: list[tuple[int, ImportRow]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    read: int = 0


def read_rows(split: RowSplitter, area: str | None = None, *, directory: Directory) -> ReadRows:
    """Every row's cells read (`read_row`); a row of another area, or a reference given twice in one file, is
    refused on its line. CPU work: an async caller runs it in a thread, never on its event loop."""
    result = ReadRows()
    first_line: dict[str, int] = {}
    for raw in raw_rows(split, ImportRow.model_fields):
        result.read += 1
        parsed = read_row(raw, directory)
        if isinstance(parsed, list):
            result.errors += parsed
            continue
        if area is not None and parsed.area != area:
            result.errors.append(
                RowError(raw.line, "area", "area", f"this import is for {area}; the row is in {parsed.area}")
            )
            continue
        key = f"{parsed.area}/{parsed.import_ref}"
        if key in first_line:
            result.errors.append(
                RowError(
                    raw.line,
                    "import_ref",
                    "one import per reference",
                    f"{parsed.import_ref} is also on line {first_line[key]}",
                )
            )
            continue
        first_line[key] = raw.line
        result.rows.append((raw.line, parsed))
    return result


def check_rows(
    split: RowSplitter, now: datetime, area: str | None = None, *, directory: Directory
) -> FileCheck:
    """Every row read, then checked by the core as its case would open now (about a millisecond a row: an async
    caller runs this in a thread, never on its event loop)."""
    read = read_rows(split, area, directory=directory)
    result = FileCheck(errors=read.errors, read=read.read)
    for line, row in read.rows:
        checked = check_row(line, row, now)
        if isinstance(checked, list):
            result.errors += checked
        else:
            result.rows.append(checked)
    result.errors.sort(key=lambda e: e.line)
    return result


def check_file(
    text: str, file_format: FileFormat, now: datetime, area: str | None = None, *, directory: Directory
) -> FileCheck:
    """`check_rows` of a whole file's text (the CLI, tests, benchmarks)."""
    return check_rows(split_rows(text, file_format), now, area, directory=directory)


def check_against_earlier(check: FileCheck, earlier: Mapping[str, Reservation]) -> None:
    """Compare each row with an earlier import of its reference (`earlier_imports`): the same row is marked as
    already imported (its case reference shown); other content under the same reference is refused now, in
    the dry run, rather than on commit."""
    kept: list[CheckedRow] = []
    for checked in check.rows:
        held = earlier.get(checked.row.import_ref)
        if held is not None and held.request_hash is not None and held.request_hash != _row_hash(checked.row):
            check.errors.append(_changed_since(checked.line, checked.row.import_ref, held.case_ref))
            continue
        if held is not None:
            checked.imported_as = held.case_ref
        kept.append(checked)
    check.rows = kept
    check.errors.sort(key=lambda e: e.line)


@dataclass(frozen=True)
class Reservation:
    case_ref: str
    request_hash: str | None


def earlier_imports(session: Session, area: str, refs: Iterable[str]) -> dict[str, Reservation]:
    """The case references earlier imports reserved for these `import_ref`s of `area`."""
    found: dict[str, Reservation] = {}
    refs = list(refs)
    for start in range(0, len(refs), 500):
        for held in session.scalars(
            select(CaseOpeningRow).where(
                CaseOpeningRow.agency_id == sender_for(area),
                CaseOpeningRow.idempotency_key.in_(refs[start : start + 500]),
            )
        ):
            assert held.idempotency_key is not None
            found[held.idempotency_key] = Reservation(held.case_ref, held.request_hash)
    return found


def _changed_since(line: int, ref: str, case_ref: str) -> RowError:
    return RowError(
        line,
        "import_ref",
        "one import per reference",
        f"{ref} was imported before as {case_ref} with other content; correct that case by its events",
    )


# ------------------------------------------------------------------------------------------ importing


class RowOutcome(StrEnum):
    STARTED = "started"  # the case's workflow was started by this run
    ALREADY_IMPORTED = "already-imported"  # an earlier run started it
    FAILED = "failed"


@dataclass(frozen=True)
class ImportedRow:
    line: int
    import_ref: str
    outcome: RowOutcome
    case_ref: str | None = None
    error: RowError | None = None


@dataclass(frozen=True)
class Importer:
    """Who imports (for the audit trail) and how to reach Temporal and the database."""

    client: Client
    sessions: Callable[[], Session]
    task_queue: str
    user_name: str
    agency_id: str | None
    role: str
    source: str  # the file's name, for the audit trail
    # Called in the transaction that reserves a row's case reference (never for one reserved before), so
    # what the caller records with it is there exactly when the reservation is.
    on_reserved: Callable[[Session, CheckedRow, str], None] | None = None
    # Links each case to its subject's other cases (store/person_links.py), with the reservation.
    key_ring: KeyRing | None = None


def sender_for(area: str) -> str:
    return f"import:{area}"


def _row_hash(row: ImportRow) -> str:
    return request_hash(IMPORT_ACTION, row)


def _reserve(importer: Importer, checked: CheckedRow) -> tuple[str, str | None]:
    """The row's case reference: the one reserved by an earlier run, or a new one reserved now together with
    the row's audit entry (so each imported case has exactly one, whatever is re-run)."""
    sender, key = sender_for(checked.row.area), checked.row.import_ref
    with importer.sessions() as session:
        for _ in range(5):
            held = session.scalars(
                select(CaseOpeningRow).where(
                    CaseOpeningRow.agency_id == sender, CaseOpeningRow.idempotency_key == key
                )
            ).one_or_none()
            if held is not None:
                return held.case_ref, held.request_hash
            case_ref = new_case_ref(AREAS[checked.row.area].code)
            digest = _row_hash(checked.row)
            session.add(
                CaseOpeningRow(agency_id=sender, idempotency_key=key, case_ref=case_ref, request_hash=digest)
            )
            session.add(
                AuditEvent(
                    user_name=importer.user_name,
                    agency_id=importer.agency_id,
                    role=importer.role,
                    action=IMPORT_ACTION,
                    case_ref=case_ref,
                    target=f"import:{key}",
                    outcome=AuditOutcome.ALLOWED.value,
                    reason=f"line {checked.line} of {importer.source}, imported at stage {checked.stage}",
                )
            )
            if importer.key_ring is not None:
                add_links(session, importer.key_ring, case_ref, checked.row.area, checked.opening.subject)
            if importer.on_reserved is not None:
                importer.on_reserved(session, checked, case_ref)
            try:
                session.commit()
            except IntegrityError:  # another run took the key, or the reference is taken: look again
                session.rollback()
                continue
            return case_ref, digest
    raise RuntimeError(f"no case reference could be reserved for {key}")


async def import_row(importer: Importer, checked: CheckedRow) -> ImportedRow:
    line, ref = checked.line, checked.row.import_ref
    case_ref, digest = await asyncio.to_thread(_reserve, importer, checked)
    if digest is not None and digest != _row_hash(checked.row):
        return ImportedRow(line, ref, RowOutcome.FAILED, case_ref, _changed_since(line, ref, case_ref))
    opening = checked.opening.model_copy(update={"case_ref": case_ref})
    started = await start_case(
        importer.client,
        importer.task_queue,
        opening,
        imported=checked.position,
        search_attributes=TypedSearchAttributes([SearchAttributePair(sa.IMPORT_REF, ref)]),
    )
    return ImportedRow(line, ref, RowOutcome.STARTED if started else RowOutcome.ALREADY_IMPORTED, case_ref)


async def import_rows(
    importer: Importer,
    rows: Iterable[CheckedRow],
    concurrency: int = DEFAULT_CONCURRENCY,
    on_done: Callable[[ImportedRow], None] | None = None,
) -> list[ImportedRow]:
    """Start every checked row's case, `concurrency` at a time; a row that fails does not stop the others."""
    gate = asyncio.Semaphore(concurrency)

    async def one(checked: CheckedRow) -> ImportedRow:
        async with gate:
            try:
                done = await import_row(importer, checked)
            except Exception as error:  # reported on its row; a re-run picks the row up
                done = ImportedRow(
                    checked.line,
                    checked.row.import_ref,
                    RowOutcome.FAILED,
                    None,
                    RowError(checked.line, None, "start", f"not started ({error}); run the import again"),
                )
        if on_done is not None:
            on_done(done)
        return done

    return list(await asyncio.gather(*(one(r) for r in rows)))


def now_utc() -> datetime:
    return datetime.now(UTC)
