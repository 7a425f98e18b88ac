"""`mappa import cases FILE` and `mappa import status IMPORT_ID`: bring an area's cases already in progress into
the system (api/imports.py reads and checks; api/import_jobs.py runs a committed file as a workflow).

Without `--commit` it is a dry run: every row is checked by the core and printed with what its case would owe
and when (or the case an earlier import of the same row started); every refused row with each of its faults
(line, column, rule). Nothing starts. With `--commit` the rows are stored sealed and the import's workflow starts
them in the background; the command follows its progress (a bar) and then prints, row by row, the case
reference each `import_ref` became. `--no-wait` returns at once with the import's reference; `mappa import status`
follows it later. `--json` prints the API's JSON instead. Send the same file again: nothing starts twice.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.import_jobs import (
    MAX_IMPORT_ROWS,
    ImportStatus,
    Submitter,
    import_status,
    start_import,
    store_import,
)
from api.import_reading import ImportFileError, RowSplitter, TooManyRows, file_format_of, split_file
from api.imports import (
    CheckedRow,
    FileCheck,
    check_against_earlier,
    check_rows,
    directory_in,
    earlier_imports,
    now_utc,
    read_rows,
)
from api.routes.imports import ImportStatusOut, dry_run_report
from core import bootstrap
from core.converter import key_ring_for
from core.database import session_factory
from core.settings import Settings
from workflows.imports import ImportProgress
from workflows.rules.policy import AREAS

_BLOCK = 1 << 16
_POLL_SECONDS = 1.0


class ImportFailed(Exception):
    """A file that cannot be imported at all, reported in one line by `mappa`."""


def _owes(row: CheckedRow) -> str:
    if row.imported_as:
        return f"already imported as {row.imported_as}: nothing starts"
    if not row.owes:
        return "no deadlines open"
    return "; ".join(
        f"{'BREACHED ' if d.breached else ''}{d.title} due {d.due_date:%a %d %b %Y} ({d.responsible})"
        for d in row.owes
    )


def _print_check(console: Console, check: FileCheck) -> None:
    for row in check.rows:
        level = f"level {row.level}" if row.level else "level -"
        console.print(
            f"line {row.line}  {row.row.import_ref}  {row.stage}, {level}: {_owes(row)}",
            highlight=False,
            markup=False,
        )
    for error in check.errors:
        console.print(f"[red]refused[/red] {escape(str(error))}", highlight=False)


def _blocks(path: Path, digest: Any) -> Iterator[bytes]:
    with path.open("rb") as file:
        while block := file.read(_BLOCK):
            digest.update(block)
            yield block


def _split(path: Path, max_rows: int | None) -> tuple[RowSplitter, str]:
    digest = hashlib.sha256()
    try:
        split = split_file(_blocks(path, digest), file_format_of(path.name), max_rows)
    except TooManyRows as error:
        raise ImportFailed(
            f"{path.name}: at most {error.limit:,} rows in one import; split the file"
        ) from None
    except (ImportFileError, OSError) as error:
        raise ImportFailed(f"{path.name}: {error}") from None
    return split, digest.hexdigest()


def import_cases(args: argparse.Namespace, settings: Settings) -> int:
    if args.commit:
        return asyncio.run(_commit(args, settings))
    split, _ = _split(args.file, None)
    engine = bootstrap.build_engine(settings)
    try:
        sessions = session_factory(engine)
        with sessions() as session:
            check = check_rows(split, now_utc(), args.area, directory=directory_in(session))
            for area in AREAS:
                refs = [r.row.import_ref for r in check.rows if r.row.area == area]
                if refs:
                    check_against_earlier(check, earlier_imports(session, area, refs))
    finally:
        engine.dispose()
    if args.json:
        print(dry_run_report(args.area or "", check).model_dump_json(indent=2))
        return 1 if check.errors else 0
    console = Console(soft_wrap=True)  # one line per row, whatever the terminal's width
    _print_check(console, check)
    breached = sum(1 for r in check.rows for d in r.owes if d.breached and not r.imported_as)
    before = sum(1 for r in check.rows if r.imported_as)
    refused = len({e.line for e in check.errors})
    console.print(
        f"\n{check.read} row(s) read: {len(check.rows) - before} can be imported ({breached} deadline(s) already "
        f"past: imported as breached before go-live, listed in one summary to the co-ordinator), {before} "
        f"already imported, {refused} refused."
    )
    for area, mail in check.expected_mail(now_utc()):
        console.print(
            f"e-mail: {area} {mail.to}, {mail.notices} notice(s) on {mail.on:%a %d %b %Y}: {mail.about}",
            highlight=False,
            markup=False,
        )
    console.print("Dry run: nothing was started. Run again with --commit to import.")
    return 1 if check.errors else 0


async def _commit(args: argparse.Namespace, settings: Settings) -> int:
    from cli.main import _operator  # who runs the import, for the audit trail (as `mappa audit export`)

    split, digest = _split(args.file, MAX_IMPORT_ROWS)
    engine = bootstrap.build_engine(settings)
    try:
        sessions = session_factory(engine)
        with sessions() as session:
            directory = directory_in(session)
        read = await asyncio.to_thread(read_rows, split, args.area, directory=directory)
        areas = {row.area for _, row in read.rows} or {args.area}
        if len(areas) != 1 or None in areas:
            raise ImportFailed(
                "one import is for one area: give --area, or a file whose rows share their area"
            )
        area = areas.pop()
        assert area is not None
        who = Submitter(f"{_operator()} (mappa CLI)", None, "administrator", args.file.name)
        import_id, stored = await asyncio.to_thread(
            store_import, sessions, key_ring_for(settings), area, digest, read, who
        )
        client = await bootstrap.connect_client(settings)
        await start_import(
            client, settings.task_queue, import_id, area, len(read.rows) + len({e.line for e in read.errors})
        )
        console = Console(soft_wrap=True, stderr=args.json)
        if not stored:
            console.print(f"This file was committed before as {import_id}: nothing new starts.")
        if args.no_wait:
            console.print(f"Import {import_id} runs in the background: `mappa import status {import_id}`.")
            return 0
        status = await _follow(client, sessions, import_id, console)
        return _print_status(status, args.json)
    finally:
        engine.dispose()


async def _follow(client: Any, sessions: Any, import_id: str, console: Console) -> ImportStatus:
    columns: list[Any] = [
        TextColumn(f"import {import_id}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("import", total=None)
        while True:
            status = await import_status(client, sessions, import_id)
            assert status is not None
            bar.update(task, total=status.progress.rows, completed=status.progress.settled)
            if status.progress.finished or status.state not in ("running", "unknown"):
                return status
            await asyncio.sleep(_POLL_SECONDS)


def _summary(progress: ImportProgress) -> str:
    return (
        f"Started {progress.started}, already imported {progress.already_imported}, refused {progress.refused}, "
        f"failed {progress.failed} (of {progress.rows})."
    )


def _print_status(status: ImportStatus, as_json: bool) -> int:
    failed = status.progress.failed + status.progress.refused
    if as_json:
        print(ImportStatusOut.of(status).model_dump_json(indent=2))
        return 1 if failed else 0
    console = Console(soft_wrap=True)
    for row in status.rows:
        if row.case_ref and row.outcome in ("started", "already-imported"):
            console.print(
                f"line {row.line}  {row.import_ref} → {row.case_ref} ({row.outcome})",
                highlight=False,
                markup=False,
            )
        for error in row.errors:
            where = f"line {error['line']}" + (f", {error['field']}" if error["field"] else "")
            console.print(
                f"[red]{row.outcome or 'refused'}[/red] {escape(where)}: {escape(error['message'])} "
                f"[{escape(error['rule'])}]",
                highlight=False,
            )
    state = "" if status.progress.finished else f" Import {status.import_id} is still {status.state}."
    console.print(
        f"{_summary(status.progress)}{state} Find its cases in the Temporal UI with `ImportRef IS NOT NULL`."
    )
    return 1 if failed else 0


def import_status_command(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> int:
        engine = bootstrap.build_engine(settings)
        try:
            client = await bootstrap.connect_client(settings)
            status = await import_status(client, session_factory(engine), args.import_id)
        finally:
            engine.dispose()
        if status is None:
            raise ImportFailed(f"there is no import {args.import_id}")
        return _print_status(status, args.json)

    return asyncio.run(run())


def add_commands(commands: Any) -> None:
    imports = commands.add_parser("import", help="import cases already in progress").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    cases = imports.add_parser(
        "cases",
        help="import cases from a CSV or JSON Lines file (a dry run unless --commit)",
        description="Each row is one case at its current stage (template: README, 'Importing cases').",
    )
    cases.add_argument("file", type=Path, help="a .csv or .jsonl file")
    cases.add_argument("--commit", action="store_true", help="start the cases (default: a dry run)")
    cases.add_argument("--area", choices=list(AREAS), help="refuse rows of any other area")
    cases.add_argument(
        "--no-wait", action="store_true", help="with --commit: return once the import has started"
    )
    cases.add_argument("--json", action="store_true", help="print the API's JSON instead of lines")
    cases.set_defaults(run=import_cases)
    status = imports.add_parser("status", help="an import's progress, and the case each row became")
    status.add_argument("import_id", help="the import's reference (IMP-...)")
    status.add_argument("--json", action="store_true", help="print the API's JSON instead of lines")
    status.set_defaults(run=import_status_command)
