"""`POST /imports`: a co-ordinator imports their area's cases already in progress (api/imports.py).

The body is the import file itself (`text/csv`, or `application/x-ndjson` for JSON Lines). Without
`commit=true` it is a dry run. The answer lists every row: what its case owes and when, or why it was refused
(line, column, rule); with `commit=true` also what happened to it. For files beyond `MAX_ROWS` use
`mappa import cases`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api import problems
from api.audit import permit
from api.auth import CO_ORDINATOR, Permission
from api.deps import CurrentUser, DbSession, SettingsDep, TemporalClient, get_engine
from api.imports import (
    DEFAULT_CONCURRENCY,
    ImportedRow,
    Importer,
    ImportFileError,
    RowError,
    check_file,
    import_rows,
    now_utc,
)
from core.database import session_factory
from store.directory import AgencyDirectory
from workflows.rules.policy import AREAS

router = APIRouter(prefix="/imports", tags=["imports"])

IMPORT_CASES = Permission("import cases", frozenset({CO_ORDINATOR}))
MAX_ROWS = 2000
_FORMATS = {"text/csv": "csv", "application/x-ndjson": "jsonl", "application/jsonl": "jsonl"}


class OwedOut(BaseModel):
    deadline_id: str
    kind: str
    title: str
    responsible: str
    due_at: datetime
    due_date: date
    breached: bool = Field(description="Already past: imported as breached and escalated once.")


class RowOut(BaseModel):
    line: int
    import_ref: str
    stage: str
    level: int | None
    owes: list[OwedOut]
    outcome: str | None = Field(
        default=None, description="started, already-imported or failed (commit only)."
    )
    case_ref: str | None = None


class RowErrorOut(BaseModel):
    line: int
    field: str | None
    rule: str
    message: str

    @classmethod
    def of(cls, error: RowError) -> RowErrorOut:
        return cls(line=error.line, field=error.field, rule=error.rule, message=error.message)


class ImportReport(BaseModel):
    area: str
    committed: bool
    read: int
    rows: list[RowOut]
    errors: list[RowErrorOut]


@router.post(
    "",
    summary="Import cases already in progress",
    description="The body is a CSV (text/csv) or JSON Lines (application/x-ndjson) file in the template of the "
    "README ('Importing cases'). A dry run unless `commit=true`; re-sending the same file starts nothing twice.",
    responses=problems.responses(401, 403, 422, 503),
    operation_id="import_cases",
)
async def import_cases(
    request: Request,
    user: CurrentUser,
    client: TemporalClient,
    settings: SettingsDep,
    db: DbSession,
    area: Annotated[str | None, Query(description="The area (default: the token's).")] = None,
    commit: Annotated[bool, Query(description="Start the cases; without it, a dry run.")] = False,
) -> ImportReport:
    area = area or user.area
    if area not in AREAS:
        raise problems.invalid_parameter("area", f"give the area to import into; areas: {', '.join(AREAS)}")
    await permit(db, user, IMPORT_CASES, area=area, case_ref=None, target=f"import:{area}")
    media = request.headers.get("content-type", "").split(";")[0].strip()
    if media not in _FORMATS:
        raise problems.invalid_parameter("Content-Type", "send text/csv or application/x-ndjson (JSON Lines)")
    directory = await run_in_threadpool(AgencyDirectory.read, db)
    try:
        text = (await request.body()).decode("utf-8-sig")
        check = check_file(
            text, "csv" if _FORMATS[media] == "csv" else "jsonl", now_utc(), area, directory=directory
        )
    except (UnicodeDecodeError, ImportFileError) as error:
        raise problems.invalid_parameter("body", str(error)) from None
    if check.read > MAX_ROWS:
        raise problems.invalid_parameter(
            "body", f"at most {MAX_ROWS} rows per request; use `mappa import cases`"
        )
    done: dict[int, ImportedRow] = {}
    if commit and check.rows:
        importer = Importer(
            client=client,
            sessions=session_factory(get_engine(request)),
            task_queue=settings.task_queue,
            user_name=user.user_name,
            agency_id=user.agency_id,
            role=user.role.value,
            source="POST /imports",
        )
        done = {r.line: r for r in await import_rows(importer, check.rows, DEFAULT_CONCURRENCY)}
    errors = [RowErrorOut.of(e) for e in check.errors]
    errors += [RowErrorOut.of(r.error) for r in done.values() if r.error is not None]
    return ImportReport(
        area=area,
        committed=commit,
        read=check.read,
        rows=[
            RowOut(
                line=r.line,
                import_ref=r.row.import_ref,
                stage=r.stage,
                level=r.level,
                owes=[OwedOut(**vars(d)) for d in r.owes],
                outcome=done[r.line].outcome.value if r.line in done else None,
                case_ref=done[r.line].case_ref if r.line in done else None,
            )
            for r in check.rows
        ],
        errors=errors,
    )
