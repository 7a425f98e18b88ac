"""`POST /imports` and `GET /imports/{import_id}`: a co-ordinator imports their area's cases already in progress
(api/imports.py reads and checks, api/import_jobs.py runs a committed file as a workflow).

The body is the import file itself (`text/csv`, or `application/x-ndjson` for JSON Lines), read as it streams:
rows are counted as they arrive and the read stops at the row limit (`MAX_ROWS` for a dry run, `MAX_IMPORT_ROWS`
for a commit), so a file over it is refused after its limit + 1st row. Reading the cells and the core's checks
are CPU work and run in a thread: the event loop goes on answering other requests meanwhile.

Without `commit=true` it is a dry run: every row, what its case owes and when (or the case an earlier import
of the same row started), and every refusal (line, column, rule). With `commit=true` the rows are stored sealed
and the import's workflow starts them in the background: 202 with the import's reference; `GET
/imports/{import_id}` answers its progress and, row by row, the case each `import_ref` became.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api import problems
from api.audit import permit
from api.auth import CO_ORDINATOR, Permission, User
from api.deps import CurrentUser, DbSession, Keys, SettingsDep, TemporalClient, get_client, get_engine
from api.import_jobs import (
    IMPORT_ID_PATTERN,
    MAX_IMPORT_ROWS,
    ImportStatus,
    Submitter,
    area_of_import,
    import_status,
    start_import,
    store_import,
)
from api.import_reading import FileFormat, ImportFileError, RowSplitter, TooManyRows
from api.imports import (
    FileCheck,
    ReadRows,
    RowError,
    check_against_earlier,
    check_rows,
    directory_in,
    earlier_imports,
    now_utc,
    read_rows,
)
from core.codec import KeyRing
from core.database import session_factory
from workflows.imports import ImportProgress
from workflows.rules.policy import AREAS

router = APIRouter(prefix="/imports", tags=["imports"])

IMPORT_CASES = Permission("import cases", frozenset({CO_ORDINATOR}))
# A dry run answers every row in the response; a bigger file is dry-run with `mappa import cases`.
MAX_ROWS = 2000
_FORMATS: dict[str, FileFormat] = {
    "text/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
}


class OwedOut(BaseModel):
    deadline_id: str
    kind: str
    title: str
    responsible: str
    due_at: datetime
    due_date: date
    breached: bool = Field(
        description="Already past: imported as breached before go-live, listed in the co-ordinator's one "
        "summary (not escalated on its own)."
    )
    re_escalated_to: str | None = Field(
        default=None, description="Already past: who hears of it two working days after the import if unmet."
    )


class RowOut(BaseModel):
    line: int
    import_ref: str
    stage: str
    level: int | None
    owes: list[OwedOut]
    already_imported_as: str | None = Field(
        default=None, description="The case an earlier import of this same row started: nothing starts again."
    )


class RowErrorOut(BaseModel):
    line: int
    field: str | None
    rule: str
    message: str

    @classmethod
    def of(cls, error: RowError) -> RowErrorOut:
        return cls(line=error.line, field=error.field, rule=error.rule, message=error.message)


class MailOut(BaseModel):
    to: str = Field(description="A role of the area, or an agency id.")
    notices: int
    on: date
    about: str


class ImportReport(BaseModel):
    area: str
    committed: bool = False
    read: int
    rows: list[RowOut]
    errors: list[RowErrorOut] = Field(description="Every fault of every refused row, by line.")
    mail: list[MailOut] = Field(
        default_factory=list,
        description="Who the import e-mails, how many times and when: the co-ordinator's one summary of the "
        "deadlines already past, then re-escalations of those still unmet.",
    )


class ProgressOut(BaseModel):
    rows: int
    settled: int
    started: int
    already_imported: int
    refused: int
    failed: int
    finished: bool

    @classmethod
    def of(cls, progress: ImportProgress) -> ProgressOut:
        return cls(
            rows=progress.rows,
            settled=progress.settled,
            started=progress.started,
            already_imported=progress.already_imported,
            refused=progress.refused,
            failed=progress.failed,
            finished=progress.finished,
        )


class ImportAccepted(BaseModel):
    import_id: str
    area: str
    read: int
    refused: int = Field(description="Rows refused as read; each is listed with its errors in the status.")
    status: str = Field(description="Where to follow it: GET this path.")


class ImportRowOut(BaseModel):
    line: int
    import_ref: str | None
    outcome: str | None = Field(description="started, already-imported, refused or failed; null: not yet.")
    case_ref: str | None
    errors: list[RowErrorOut]


class ImportStatusOut(BaseModel):
    import_id: str
    area: str
    state: str
    progress: ProgressOut
    rows: list[ImportRowOut]

    @classmethod
    def of(cls, status: ImportStatus) -> ImportStatusOut:
        return cls(
            import_id=status.import_id,
            area=status.area,
            state=status.state,
            progress=ProgressOut.of(status.progress),
            rows=[
                ImportRowOut(
                    line=r.line,
                    import_ref=r.import_ref,
                    outcome=r.outcome,
                    case_ref=r.case_ref,
                    errors=[RowErrorOut(**e) for e in r.errors],
                )
                for r in status.rows
            ],
        )


async def _read_body(
    request: Request, file_format: FileFormat, max_rows: int, hint: str
) -> tuple[RowSplitter, str]:
    """The body cut into rows as it streams (and its sha256), refused at its `max_rows` + 1st row."""
    split, digest = RowSplitter(file_format, max_rows), hashlib.sha256()
    try:
        async for chunk in request.stream():
            digest.update(chunk)
            split.feed_bytes(chunk)
        split.feed_bytes(b"", final=True)
        split.finish()
    except TooManyRows as error:
        raise problems.invalid_parameter("body", f"at most {error.limit:,} rows {hint}") from None
    except ImportFileError as error:
        raise problems.invalid_parameter("body", str(error)) from None
    return split, digest.hexdigest()


def _dry_run(sessions: Callable[[], Session], split: RowSplitter, area: str) -> FileCheck:
    with sessions() as session:
        directory = directory_in(session)
    check = check_rows(split, now_utc(), area, directory=directory)
    with sessions() as session:
        check_against_earlier(check, earlier_imports(session, area, [r.row.import_ref for r in check.rows]))
    return check


def _read(sessions: Callable[[], Session], split: RowSplitter, area: str) -> ReadRows:
    with sessions() as session:
        directory = directory_in(session)
    return read_rows(split, area, directory=directory)


def dry_run_report(area: str, check: FileCheck) -> ImportReport:
    return ImportReport(
        area=area,
        read=check.read,
        rows=[
            RowOut(
                line=r.line,
                import_ref=r.row.import_ref,
                stage=r.stage,
                level=r.level,
                owes=[OwedOut(**vars(d)) for d in r.owes],
                already_imported_as=r.imported_as,
            )
            for r in check.rows
        ],
        errors=[RowErrorOut.of(e) for e in check.errors],
        mail=[MailOut(**vars(m)) for _, m in check.expected_mail(now_utc())],
    )


@router.post(
    "",
    summary="Import cases already in progress",
    description="The body is a CSV (text/csv) or JSON Lines (application/x-ndjson) file in the template of the "
    f"README ('Importing cases'). A dry run (at most {MAX_ROWS:,} rows) unless `commit=true`; a commit (at "
    f"most {MAX_IMPORT_ROWS:,} rows) answers 202 and runs in the background: follow it at "
    "`GET /imports/{import_id}`. Re-sending the same file starts nothing twice.",
    responses={**problems.responses(401, 403, 422, 503), 202: {"model": ImportAccepted}},
    operation_id="import_cases",
)
async def import_cases(
    request: Request,
    response: Response,
    user: CurrentUser,
    settings: SettingsDep,
    keys: Keys,
    db: DbSession,
    area: Annotated[str | None, Query(description="The area (default: the token's).")] = None,
    commit: Annotated[bool, Query(description="Start the cases; without it, a dry run.")] = False,
) -> ImportReport | ImportAccepted:
    area = area or user.area
    if area not in AREAS:
        raise problems.invalid_parameter("area", f"give the area to import into; areas: {', '.join(AREAS)}")
    await permit(db, user, IMPORT_CASES, area=area, case_ref=None, target=f"import:{area}")
    media = request.headers.get("content-type", "").split(";")[0].strip()
    if media not in _FORMATS:
        raise problems.invalid_parameter("Content-Type", "send text/csv or application/x-ndjson (JSON Lines)")
    sessions = session_factory(get_engine(request))
    if not commit:
        split, _ = await _read_body(
            request,
            _FORMATS[media],
            MAX_ROWS,
            "in a dry run here; dry-run a bigger file with `mappa import cases`",
        )
        return dry_run_report(area, await asyncio.to_thread(_dry_run, sessions, split, area))
    split, digest = await _read_body(
        request, _FORMATS[media], MAX_IMPORT_ROWS, "in one import; split the file"
    )
    return await _commit(request, response, user, settings.task_queue, keys, sessions, split, digest, area)


async def _commit(
    request: Request,
    response: Response,
    user: User,
    task_queue: str,
    keys: KeyRing,
    sessions: Callable[[], Session],
    split: RowSplitter,
    digest: str,
    area: str,
) -> ImportAccepted:
    client = await get_client(request)  # here, not as a dependency: a dry run needs no Temporal
    read = await asyncio.to_thread(_read, sessions, split, area)
    who = Submitter(user.user_name, user.agency_id, user.role.value, "POST /imports")
    import_id, _ = await asyncio.to_thread(store_import, sessions, keys, area, digest, read, who)
    await start_import(
        client, task_queue, import_id, area, len(read.rows) + len({e.line for e in read.errors})
    )
    response.status_code = 202
    response.headers["Location"] = f"/imports/{import_id}"
    return ImportAccepted(
        import_id=import_id,
        area=area,
        read=read.read,
        refused=len({e.line for e in read.errors}),
        status=f"/imports/{import_id}",
    )


@router.get(
    "/{import_id}",
    summary="An import's progress, and the case each row became",
    responses=problems.responses(401, 403, 404, 422, 503),
    operation_id="import_status",
)
async def import_progress(
    request: Request,
    user: CurrentUser,
    client: TemporalClient,
    db: DbSession,
    import_id: Annotated[str, Path(pattern=IMPORT_ID_PATTERN)],
) -> ImportStatusOut:
    area = area_of_import(import_id)
    if area is None:
        raise problems.not_found("import-not-found", "No such import", f"there is no import {import_id}")
    await permit(db, user, IMPORT_CASES, area=area, case_ref=None, target=f"import:{import_id}")
    status = await import_status(client, session_factory(get_engine(request)), import_id)
    if status is None or status.area != area:
        raise problems.not_found("import-not-found", "No such import", f"there is no import {import_id}")
    return ImportStatusOut.of(status)
