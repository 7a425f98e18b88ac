"""`mappa`: the command-line tool for co-ordinators' administrators and developers.

    mappa --version
    mappa tokens issue --user NAME --agency ID --role ROLE --area AREA   (prints the token once)
    mappa tokens revoke --user NAME | --id N
    mappa tokens list [--json]
    mappa directory load FILE
    mappa directory check FILE [--allow-examples]   (no database: before a deployment loads it)
    mappa deadline calc --area AREA --rule RULE --date YYYY-MM-DD [--time HH:MM] [--json]
    mappa demo load [--api URL]
    mappa audit export --case REF [--format csv|json] [--output FILE]
    mappa calendar issue --agency ID --area AREA | revoke --id N | --agency ID | list [--json]
                                                                           (cli/calendar_feeds.py)
    mappa import cases FILE [--commit [--no-wait]] [--area AREA] [--json]   (cli/import_cases.py; a dry run
                                                                               without --commit)
    mappa import status IMPORT_ID [--json]

Configuration comes from the same `MAPPA_*` settings as the worker and the API (database, API address).
Failures (a refusal, a database or Temporal that does not answer) are one line on standard error, exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import TokenError, issue_token, revoke_tokens
from api.calculator import CalculatorInputError, calculate_deadline, parse_time, render
from cli import calendar_feeds, import_cases
from core import bootstrap
from core.database import session_factory
from core.settings import Settings
from store.audit_trail import audit_trail, case_is_known, to_csv, to_json
from store.calendars import CalendarFeedError
from store.models import ApiToken, AuditEvent, AuditOutcome, TokenRole
from workflows.rules.policy import AREAS, DeadlineKind


class CliError(Exception):
    """A failure to report in one line, without a traceback."""


def _engine(settings: Settings) -> Engine:
    return bootstrap.build_engine(settings)


def tokens_issue(args: argparse.Namespace, settings: Settings) -> int:
    engine = _engine(settings)
    try:
        with session_factory(engine).begin() as session:
            token = issue_token(
                session, user_name=args.user, agency_id=args.agency, role=args.role, area=args.area
            )
    finally:
        engine.dispose()
    where = f" in {AREAS[args.area].name}" if args.area else ""
    print(f"Token for {args.user} ({args.role} of {args.agency or 'no agency'}{where}).")
    print("It is shown only now: give it to the user, who sends it as 'Authorization: Bearer <token>'.")
    print(token)
    return 0


def tokens_revoke(args: argparse.Namespace, settings: Settings) -> int:
    engine = _engine(settings)
    try:
        with session_factory(engine).begin() as session:
            revoked = revoke_tokens(session, user_name=args.user, token_id=args.id)
    finally:
        engine.dispose()
    if revoked == 0:
        raise CliError(f"no live token for {args.user or f'id {args.id}'}")
    print(f"Revoked {revoked} token(s) of {args.user or f'id {args.id}'}.")
    return 0


def tokens_list(args: argparse.Namespace, settings: Settings) -> int:
    engine = _engine(settings)
    try:
        with session_factory(engine)() as session:
            rows = session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
    finally:
        engine.dispose()
    if args.json:
        listing = [
            {
                "id": row.id,
                "user": row.user_name,
                "role": row.role,
                "agency": row.agency_id,
                "area": row.area,
                "issued_at": row.created_at.isoformat(),
                "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
            }
            for row in rows
        ]
        print(json.dumps(listing, indent=2))
        return 0
    print(f"{'id':>4}  {'user':<32} {'role':<14} {'agency':<34} {'area':<22} state")
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "live"
        print(
            f"{row.id:>4}  {row.user_name:<32} {row.role:<14} {row.agency_id or '-':<34} {row.area or '-':<22} {state}"
        )
    return 0


def directory_load(args: argparse.Namespace, settings: Settings) -> int:
    from store.directory import load_directory

    engine = _engine(settings)
    try:
        entries = load_directory(engine, args.file)
    finally:
        engine.dispose()
    print(
        f"Loaded {len(entries.agencies)} agencies and {len(entries.role_holders)} role holders from {args.file}."
    )
    return 0


def directory_check(args: argparse.Namespace, settings: Settings) -> int:
    """Read a directory file as the worker will, and say what would go wrong with it, before it is deployed."""
    from pydantic import ValidationError

    from store.directory import DirectoryFile, directory_problems

    try:
        entries = DirectoryFile.read(args.file)
    except FileNotFoundError:
        raise CliError(f"{args.file} does not exist") from None
    except ValueError as error:  # JSON or the directory's own rules (pydantic)
        detail = (
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:10])
            if isinstance(error, ValidationError)
            else str(error)
        )
        raise CliError(f"{args.file} is not a valid directory: {detail}") from None
    problems = directory_problems(entries, date.today(), allow_examples=args.allow_examples)
    areas = sorted({a.area for a in entries.agencies if a.area} | {h.area for h in entries.role_holders})
    print(
        f"{args.file}: {len(entries.agencies)} agencies and {len(entries.role_holders)} role holders, "
        f"areas: {', '.join(areas) or 'none'}."
    )
    for problem in problems:
        print(f"  problem: {problem}")
    if problems:
        raise CliError(f"{len(problems)} problem(s) in {args.file}: correct them before deploying it")
    print("No problems found: the worker loads it at start (MAPPA_DIRECTORY_FILE).")
    return 0


def deadline_calc(args: argparse.Namespace, settings: Settings) -> int:
    try:
        calc = calculate_deadline(
            args.area, args.rule, args.date, parse_time(args.time) if args.time else None
        )
    except CalculatorInputError as error:
        raise CliError(f"--{error.parameter}: {error.message}") from None
    print(calc.model_dump_json(indent=2) if args.json else render(calc))
    return 0


def demo_load(args: argparse.Namespace, settings: Settings) -> int:
    from cli.demo import issue_demo_tokens, load_demo, print_summary, write_demo_tokens

    if settings.is_production:
        raise CliError("the demo loads fictional cases: refusing to run in production")
    api = args.api or f"http://{settings.api_host}:{settings.api_port}"
    engine = _engine(settings)
    try:
        tokens = issue_demo_tokens(engine)
    finally:
        engine.dispose()
    tokens_file = write_demo_tokens(tokens, args.tokens_file)

    async def run() -> int:
        async with httpx.AsyncClient(base_url=api, timeout=60) as http:
            try:
                cases = await load_demo(http, tokens)
            except httpx.TransportError as error:
                raise CliError(
                    f"the API at {api} does not answer ({error}); start it with `make dev`"
                ) from None
        print_summary(cases, tokens_file, api)
        return 0

    return asyncio.run(run())


def _operator() -> str:
    """Who runs the CLI, for the audit trail (a container may have no user name for its uid)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def audit_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write a case's audit trail; the export itself is recorded in the trail first, as the API does."""
    engine = _engine(settings)
    try:
        with session_factory(engine).begin() as session:
            if not case_is_known(session, args.case):
                raise CliError(
                    f"no case {args.case} is known here (no opening, ledger entry or allowed access)"
                )
            session.add(
                AuditEvent(
                    user_name=f"{_operator()} (mappa CLI)",
                    agency_id=None,
                    role="administrator",
                    action="export a case's audit trail",
                    case_ref=args.case,
                    target=f"format={args.format}",
                    outcome=AuditOutcome.ALLOWED.value,
                )
            )
        with session_factory(engine)() as session:
            events = audit_trail(session, args.case)
    finally:
        engine.dispose()
    text = to_csv(events) if args.format == "csv" else to_json(events)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"Wrote {len(events)} audit event(s) of {args.case} to {args.output}.", file=sys.stderr)
    return 0


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def package_version() -> str:
    try:
        return version("mappa-orchestration")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="mappa", description="MAPPA case orchestration: administration tool.")
    top.add_argument("--version", action="version", version=f"mappa {package_version()}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    tokens = commands.add_parser("tokens", help="issue, revoke and list API tokens").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    issue = tokens.add_parser("issue", help="issue a token to an agency user (printed once)")
    issue.add_argument("--user", required=True, help="the user's name, as it will appear in the audit trail")
    issue.add_argument("--agency", help="the user's agency id (required for all but ops)")
    issue.add_argument("--role", required=True, choices=[r.value for r in TokenRole])
    issue.add_argument(
        "--area", choices=list(AREAS), help="the user's MAPPA area (omit only for a national agency's worker)"
    )
    issue.set_defaults(run=tokens_issue)
    revoke = tokens.add_parser("revoke", help="revoke a user's tokens, or one token by id")
    who = revoke.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="revoke every live token of this user")
    who.add_argument("--id", type=int, help="revoke this token")
    revoke.set_defaults(run=tokens_revoke)
    listing = tokens.add_parser("list", help="list tokens (never the tokens themselves)")
    listing.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    listing.set_defaults(run=tokens_list)

    directory = commands.add_parser("directory", help="the agency directory").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    load = directory.add_parser("load", help="load agencies and role holders from a JSON file")
    load.add_argument("file", type=Path)
    load.set_defaults(run=directory_load)
    check = directory.add_parser(
        "check",
        help="check a directory file without loading it",
        description="Reads the file as the worker will and lists what would lose notices: an area with no "
        "co-ordinator or deputy today, and addresses at example domains (the shipped example's).",
    )
    check.add_argument("file", type=Path)
    check.add_argument(
        "--allow-examples", action="store_true", help="accept example addresses (a trial, never production)"
    )
    check.set_defaults(run=directory_check)

    deadline = commands.add_parser("deadline", help="the deadline calculator").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    calc = deadline.add_parser(
        "calc",
        help="when a deadline falls due",
        description="What a case would compute. Without --time the event is taken at 12:00 Europe/London.",
    )
    calc.add_argument("--area", required=True, help=f"one of: {', '.join(AREAS)}")
    calc.add_argument("--rule", required=True, help=f"one of: {', '.join(k.value for k in DeadlineKind)}")
    calc.add_argument("--date", required=True, type=_date, help="the day of the event, YYYY-MM-DD")
    calc.add_argument("--time", help="HH:MM Europe/London (default 12:00)")
    calc.add_argument("--json", action="store_true", help="print the API's JSON instead of a table")
    calc.set_defaults(run=deadline_calc)

    demo = commands.add_parser("demo", help="demonstration data").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    demo_load_parser = demo.add_parser(
        "load", help="issue demo tokens and open example cases through the API"
    )
    demo_load_parser.add_argument("--api", help="the API's base URL (default: from settings)")
    demo_load_parser.add_argument(
        "--tokens-file",
        type=Path,
        default=Path("data/demo-tokens.json"),
        help="where the demo users' tokens are written, readable by you only (never printed)",
    )
    demo_load_parser.set_defaults(run=demo_load)

    audit = commands.add_parser("audit", help="the audit trail").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    export = audit.add_parser(
        "export",
        help="a case's audit trail, oldest first",
        description="Every audited read, event, disclosure decision and refusal on one case.",
    )
    export.add_argument("--case", required=True, help="the case reference, e.g. MAPPA-LAN-2026-7K2Q9X")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--output", type=Path, help="write to this file instead of standard output")
    export.set_defaults(run=audit_export)

    calendar_feeds.add_commands(commands)
    import_cases.add_commands(commands)
    return top


# Temporal's client says it could not connect with a RuntimeError of this prefix; a call the server did not
# answer is an RPCError with one of these statuses.
CONNECT_FAILED = "Failed client connect"
UNANSWERED = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED}


def temporal_unreachable(error: BaseException) -> bool:
    if isinstance(error, RPCError):
        return error.status in UNANSWERED
    return isinstance(error, RuntimeError) and str(error).startswith(CONNECT_FAILED)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    run: Callable[[argparse.Namespace, Settings], int] = args.run
    settings = Settings()
    try:
        return run(args, settings)
    except (CliError, TokenError, CalendarFeedError, import_cases.ImportFailed) as error:
        print(f"mappa: {error}", file=sys.stderr)
        return 1
    except OperationalError as error:
        print(f"mappa: the database is not ready ({error.orig}); run `make dev-prepare`", file=sys.stderr)
        return 1
    except (RuntimeError, RPCError) as error:
        if not temporal_unreachable(error):
            raise
        print(
            f"mappa: Temporal at {settings.temporal_address} (namespace {settings.temporal_namespace}) does "
            "not answer; start it (`make dev`) or set MAPPA_TEMPORAL_ADDRESS, then run this again",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
