"""`mappa import cases FILE`: bring an area's cases already in progress into the system (api/imports.py).

Without `--commit` it is a dry run: every row is checked by the core and printed with what its case would owe
and when; every refused row with its line, column and rule. Nothing starts. With `--commit` the rows that pass
are started (bounded concurrency, a progress bar) and a summary says what was started, what an earlier run had
already imported, and what failed. Run it again after fixing failed rows: nothing starts twice.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.imports import (
    DEFAULT_CONCURRENCY,
    CheckedRow,
    FileCheck,
    ImportedRow,
    Importer,
    ImportFileError,
    RowOutcome,
    check_file,
    file_format_of,
    import_rows,
    now_utc,
)
from core import bootstrap
from core.database import session_factory
from core.settings import Settings
from store.directory import AgencyDirectory
from workflows.rules.policy import AREAS


class ImportFailed(Exception):
    """A file that cannot be imported at all, reported in one line by `mappa`."""


def _owes(row: CheckedRow) -> str:
    if not row.owes:
        return "no deadlines open"
    return "; ".join(
        f"{'BREACHED ' if d.breached else ''}{d.title} due {d.due_date:%a %d %b %Y} ({d.responsible})"
        for d in row.owes
    )


def _print_check(console: Console, check: FileCheck, dry_run: bool) -> None:
    if dry_run:
        for row in check.rows:
            level = f"level {row.level}" if row.level else "level -"
            console.print(
                f"line {row.line}  {row.row.import_ref}  {row.stage}, {level}: {_owes(row)}",
                highlight=False,
                markup=False,
            )
    for error in check.errors:
        console.print(f"[red]refused[/red] {escape(str(error))}", highlight=False)


def _directory(settings: Settings) -> AgencyDirectory:
    """The agency directory, as the API checks every named agency against it."""
    engine = bootstrap.build_engine(settings)
    try:
        with session_factory(engine)() as session:
            return AgencyDirectory.read(session)
    finally:
        engine.dispose()


def import_cases(args: argparse.Namespace, settings: Settings) -> int:
    from cli.main import _operator  # who runs the import, for the audit trail (as `mappa audit export`)

    operator = _operator()
    console = Console(soft_wrap=True)  # one line per row, whatever the terminal's width
    path: Path = args.file
    try:
        file_format = file_format_of(path.name)
        text = path.read_text(encoding="utf-8-sig")
        now = now_utc()
        check = check_file(text, file_format, now, args.area, directory=_directory(settings))
    except (ImportFileError, OSError) as error:
        raise ImportFailed(str(error)) from None
    _print_check(console, check, dry_run=not args.commit)
    breached = sum(1 for r in check.rows for d in r.owes if d.breached)
    refused = len({e.line for e in check.errors})
    console.print(
        f"\n{check.read} row(s) read: {len(check.rows)} can be imported ({breached} deadline(s) already past: "
        f"imported as breached and escalated once), {refused} refused."
    )
    if not args.commit:
        console.print("Dry run: nothing was started. Run again with --commit to import.")
        return 1 if check.errors else 0
    results = asyncio.run(_commit(settings, check, args, operator, path.name))
    counts = {outcome: sum(1 for r in results if r.outcome is outcome) for outcome in RowOutcome}
    for failed in (r for r in results if r.outcome is RowOutcome.FAILED):
        console.print(f"[red]failed[/red] {escape(str(failed.error))}", highlight=False)
    console.print(
        f"Started {counts[RowOutcome.STARTED]}, already imported {counts[RowOutcome.ALREADY_IMPORTED]}, "
        f"failed {counts[RowOutcome.FAILED]}; refused before starting {refused}. "
        "Find them in the Temporal UI with `ImportRef IS NOT NULL`."
    )
    return 1 if check.errors or counts[RowOutcome.FAILED] else 0


async def _commit(
    settings: Settings, check: FileCheck, args: argparse.Namespace, operator: str, source: str
) -> list[ImportedRow]:
    client = await bootstrap.connect_client(settings)
    engine = bootstrap.build_engine(settings)
    importer = Importer(
        client=client,
        sessions=session_factory(engine),
        task_queue=settings.task_queue,
        user_name=f"{operator} (mappa CLI)",
        agency_id=None,
        role="administrator",
        source=source,
    )
    columns: list[Any] = [
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    try:
        with Progress(*columns) as progress:
            task = progress.add_task("import", total=len(check.rows))
            return await import_rows(
                importer, check.rows, args.concurrency, on_done=lambda _: progress.advance(task)
            )
    finally:
        engine.dispose()


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
        "--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="cases started at a time (default 16)"
    )
    cases.set_defaults(run=import_cases)
