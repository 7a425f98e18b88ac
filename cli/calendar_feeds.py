"""`mappa calendar`: issue, revoke and list agency calendar feeds (ICS subscriptions).

mappa calendar issue --agency ID --area AREA [--api URL]   (prints the feed's address once)
mappa calendar revoke --id N | --agency ID [--area AREA]
mappa calendar list [--json]
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
from typing import Any

from sqlalchemy import select

from core import bootstrap
from core.database import session_factory
from core.settings import Settings
from store.calendars import CalendarFeedError, issue_feed, revoke_feeds
from store.models import CalendarFeed
from workflows.rules.policy import AREAS


def _operator() -> str:
    """Who runs the CLI, kept with the feed (a container may have no user name for its uid)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def calendar_issue(args: argparse.Namespace, settings: Settings) -> int:
    engine = bootstrap.build_engine(settings)
    try:
        with session_factory(engine).begin() as session:
            feed, secret = issue_feed(session, agency_id=args.agency, area=args.area, issued_by=_operator())
            feed_id = feed.id
    finally:
        engine.dispose()
    api = (args.api or settings.api_base_url).rstrip("/")
    print(f"Calendar feed {feed_id}: the deadlines {args.agency} owes in {AREAS[args.area].name}.")
    print("Its address is shown only now and is the feed's only key: give it to the agency's single point")
    print("of contact, to subscribe to in Outlook (Add calendar > Subscribe from web) or any calendar.")
    print(f"{api}/calendars/{secret}.ics")
    return 0


def calendar_revoke(args: argparse.Namespace, settings: Settings) -> int:
    if args.area is not None and args.agency is None:
        raise CalendarFeedError("--area narrows --agency: give the agency too")
    engine = bootstrap.build_engine(settings)
    try:
        with session_factory(engine).begin() as session:
            revoked = revoke_feeds(session, feed_id=args.id, agency_id=args.agency, area=args.area)
    finally:
        engine.dispose()
    which = (
        f"id {args.id}" if args.id is not None else f"{args.agency}{f' in {args.area}' if args.area else ''}"
    )
    if revoked == 0:
        raise CalendarFeedError(f"no live calendar feed for {which}")
    print(f"Revoked {revoked} calendar feed(s) of {which}; their addresses now answer 410 Gone.")
    return 0


def calendar_list(args: argparse.Namespace, settings: Settings) -> int:
    engine = bootstrap.build_engine(settings)
    try:
        with session_factory(engine)() as session:
            rows = session.scalars(select(CalendarFeed).order_by(CalendarFeed.id)).all()
    finally:
        engine.dispose()
    if args.json:
        listing = [
            {
                "id": row.id,
                "agency": row.agency_id,
                "area": row.area,
                "issued_by": row.issued_by,
                "issued_at": row.issued_at.isoformat(),
                "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
            }
            for row in rows
        ]
        print(json.dumps(listing, indent=2))
        return 0
    print(f"{'id':>4}  {'agency':<34} {'area':<22} {'issued':<17} state")
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "live"
        print(f"{row.id:>4}  {row.agency_id:<34} {row.area:<22} {row.issued_at:%Y-%m-%d %H:%M} {state}")
    return 0


def add_commands(commands: Any) -> None:
    """The `calendar` command and its actions, on the top-level parser's subparsers."""
    calendar = commands.add_parser(
        "calendar", help="issue, revoke and list agency calendar feeds (ICS)"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    issue = calendar.add_parser(
        "issue", help="a feed of an agency's open deadlines in an area (printed once)"
    )
    issue.add_argument("--agency", required=True, help="the agency's id in the directory")
    issue.add_argument("--area", required=True, choices=list(AREAS), help="the MAPPA area")
    issue.add_argument(
        "--api", help="the API's public base URL for the address (default: MAPPA_PUBLIC_API_URL)"
    )
    issue.set_defaults(run=calendar_issue)
    revoke = calendar.add_parser("revoke", help="revoke a feed by id, or an agency's feeds")
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", type=int, help="revoke this feed")
    which.add_argument("--agency", help="revoke every live feed of this agency")
    revoke.add_argument("--area", choices=list(AREAS), help="with --agency: only its feeds in this area")
    revoke.set_defaults(run=calendar_revoke)
    listing = calendar.add_parser("list", help="list feeds (never their addresses)")
    listing.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    listing.set_defaults(run=calendar_list)
