"""Who may do what: bearer tokens, and the one table of permissions.

Tokens are issued per agency user by the CLI (`mappa tokens issue`) and only their sha256 is stored. Each
token carries the user's agency, role and area. Authorisation then asks three questions, in this order:

1. area: the case's area (read from its reference) must be the user's area. A token without an area belongs
   to a national agency's worker and acts only on cases its agency is involved in (`authorise_involvement`);
2. role: the user's role must be one the action allows (an event's row in the core's registry, or the table
   below for what is not an event);
3. agency: an agency acts only for itself: the event's field naming the acting agency must be the user's
   agency, and a field that gives an agency a role opening the minutes to it (the ASP chair) is the
   co-ordinator's alone. The co-ordinator, who records on agencies' behalf, is exempt.

Questions 2 and 3 are the core's one check (`workflows.rules.ownership.check_permission`), the same the case
makes when the event arrives; its refusal becomes a 403 in one place (`problems.refused_by_core`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api import problems
from store.models import Agency, ApiToken
from workflows.rules import events as ev
from workflows.rules.actors import Actor, Role
from workflows.rules.errors import NotResponsible
from workflows.rules.ownership import (
    AGENCIES,
    ASP_CHAIR,
    CHAIR_ONLY,
    CO_ONLY,
    Permission,
    allow,
    check_permission,
)
from workflows.rules.policy import AREAS
from workflows.rules.registry import EVENTS

CO_ORDINATOR = Role.CO_ORDINATOR
CHAIR = Role.CHAIR
AGENCY_WORKER = Role.AGENCY_WORKER
OPS = Role.OPS
TOKEN_PREFIX = "mappa_"


EVERYONE = (CO_ORDINATOR, CHAIR, AGENCY_WORKER, OPS)

# Who may send each event is its row in the core's registry (workflows/rules/registry.py): the API authorises
# with it before sending, and the case checks it again with the deadlines' owners.
EVENT_PERMISSIONS: dict[type[ev.Event], Permission] = {row.event: row.permission for row in EVENTS}
# fmt: off
OPEN_CASE = allow(
    "open a case",
    AGENCIES,
    (
        "notification.notifying_agency",
        "referral.referring_agency",
        # Before the notification: police / justice social work, the prison (SPS) or the hospital.
        "disposal.recorded_by",
        "upcoming_release.recorded_by",
        "discharge.recorded_by",
    ),
    co_ordinator_names=ASP_CHAIR,
)
READ_STATUS = allow("read a case's status and deadlines", EVERYONE)  # no personal data in either
READ_CASE_FILE = allow("read the case file", (CO_ORDINATOR, CHAIR, AGENCY_WORKER))  # personal data: audited
# A person's other cases (linked by the person key): the co-ordinator's, at screening (003 stage 1). Audited.
READ_EARLIER_CASES = allow("read the same person's other cases", (CO_ORDINATOR,))
# Confidentiality. A role is necessary, not sufficient: reading a minute also needs the reader's agency to have
# attended, to chair the ASP side, or to hold a granted disclosure; a disclosure is decided by the chair of the
# meeting's chair agency (api/minutes.py). All audited.
# Filing a minute sends `MinuteFiled`: who may is the core's; the minute's `chair_agency` names the sender's agency.
RECORD_MINUTE = replace(EVENT_PERMISSIONS[ev.MinuteFiled], acts_as=("chair_agency",))
READ_MINUTE = allow("read a minute", (CO_ORDINATOR, CHAIR, AGENCY_WORKER))
READ_EXECUTIVE_SUMMARY = allow("read a minute's executive summary", (CO_ORDINATOR, CHAIR, AGENCY_WORKER))
REQUEST_DISCLOSURE = allow("ask to share a minute beyond its attendees", (CO_ORDINATOR, CHAIR, AGENCY_WORKER))
READ_DISCLOSURES = allow("read a minute's disclosures", (CO_ORDINATOR, CHAIR, AGENCY_WORKER))
DECIDE_DISCLOSURE = allow("decide on sharing a minute", CHAIR_ONLY)
# Panel days (api/routes/panels.py): each case on one is sent `MeetingScheduled`, with that event's permission.
SCHEDULE_MEETING = EVENT_PERMISSIONS[ev.MeetingScheduled]
READ_PANEL = allow("read a panel day's cases", EVERYONE)  # references and meeting states only: no personal data
READ_AUDIT_TRAIL = allow("read a case's audit trail", (CO_ORDINATOR, CHAIR))
# A significant case review's export: every event, deadline and decision with its reasons; minutes by reference.
READ_CHRONOLOGY = allow("export a case's chronology", (CO_ORDINATOR, CHAIR))
# The area's annual figures: counts only, no case.
READ_ANNUAL_FIGURES = allow("read the area's annual MAPPA figures", (OPS,))
DECODE_HISTORY = allow("decode case history (Temporal codec)", CO_ONLY)
ENCODE_PAYLOADS = allow("encode payloads (Temporal codec)", CO_ONLY)
# fmt: on
# What the areas a case was transferred from may still do with it: read what they did (README, table of choices).
SENDING_AREA_READS = frozenset({READ_STATUS, READ_CASE_FILE, READ_AUDIT_TRAIL})


@dataclass(frozen=True)
class User:
    """The holder of a valid token."""

    token_id: int
    user_name: str
    agency_id: str | None
    role: Role
    area: str | None  # an area id ("lanarkshire"); None only for an agency worker of a national agency

    @property
    def actor(self) -> Actor:
        """The user as the core knows a sender: role and agency, from the token."""
        return Actor(role=self.role, agency=self.agency_id)

    @property
    def sender(self) -> str:
        """Who sends events, for idempotency keys: the agency, else the user."""
        return self.agency_id or f"user-{self.token_id}"


def _area_name(area_id: str) -> str:
    area = AREAS.get(area_id)
    return area.name if area else area_id


def authorise(user: User, permission: Permission, case_area: str, request: BaseModel | None = None) -> None:
    """Raise a 403 problem unless `user` may take `permission`'s action on a case of `case_area`: the area is
    the token's (the API's question); the role and the acting agency are the core's one check."""
    if user.area is not None and user.area != case_area:
        raise problems.forbidden(
            f"this case is in {_area_name(case_area)}; your token is for {_area_name(user.area)} "
            "and a user acts only within their own area",
            rule="area",
        )
    try:
        check_permission(permission, request, user.actor)
    except NotResponsible as refusal:
        raise problems.refused_by_core(refusal) from None


# ------------------------------------------------------------------------------------------ national agencies


def authorise_involvement(user: User, involved: frozenset[str]) -> None:
    """A token without an area (a national agency's worker) acts only on cases its agency is involved in:
    it leads, referred, attended, chairs the ASP side, or owes the case a deadline such as a record search
    (`workflows.rules.involvement`). Tokens with an area are bounded by `authorise`'s area check instead."""
    if user.area is not None or (user.agency_id is not None and user.agency_id in involved):
        return
    raise problems.forbidden(
        f"your token is for {user.agency_id or 'no agency'}, a national agency, which is not involved in this "
        "case: a national agency acts only on cases it leads, referred, attended or was asked about",
        rule="national agency involvement",
    )


def token_fits_directory(agency: Agency | None, agency_id: str, area: str | None, role: Role) -> None:
    """A token's agency is one the directory knows and is active, its area is the agency's own, and its role one
    the directory lets the agency's people hold. A national agency's token has no area and is an agency worker's,
    always: it acts only on the cases its agency is involved in."""
    if agency is None:
        raise TokenError(
            f"agency {agency_id!r} is not in the MAPPA directory: add it (`mappa directory load FILE`) first"
        )
    if not agency.active:
        raise TokenError(f"agency {agency_id!r} is not active in the MAPPA directory")
    if agency.national and (area is not None or role is not AGENCY_WORKER):
        raise TokenError(
            f"{agency_id} is a national agency: its token is an agency worker's with no area, acting only on the "
            "cases the agency is involved in (omit --area; --role agency-worker)"
        )
    if area is None and not agency.national:
        raise TokenError(
            f"{agency_id} works in {_area_name(agency.area or '')}: give its area (only a national agency's "
            "token has none)"
        )
    if area is not None and area != agency.area:
        raise TokenError(
            f"{agency_id} works in {_area_name(agency.area or '')}, not {_area_name(area)}: a token's area is "
            "its agency's"
        )
    roles = agency.roles or [AGENCY_WORKER.value]
    if role.value not in roles:
        raise TokenError(
            f"the MAPPA directory lets {agency_id}'s people be {', '.join(sorted(roles))}, not {role.value}"
        )


# ------------------------------------------------------------------------------------------ tokens


class TokenError(ValueError):
    pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session, *, user_name: str, agency_id: str | None, role: str, area: str | None
) -> str:
    """Store a new token for a user and return it: the only time it is ever shown."""
    try:
        token_role = Role(role)
    except ValueError:
        raise TokenError(f"unknown role {role!r}; roles: {', '.join(r.value for r in Role)}") from None
    if area is not None and area not in AREAS:
        raise TokenError(f"unknown area {area!r}; areas: {', '.join(AREAS)}")
    if area is None and token_role is not AGENCY_WORKER:
        raise TokenError(f"a {token_role.value} works in one area: give the area")
    if agency_id is None and token_role is not OPS:
        raise TokenError(f"a {token_role.value} acts for an agency: give the agency id")
    if not user_name.strip():
        raise TokenError("give the user's name")
    if agency_id is not None:
        token_fits_directory(session.get(Agency, agency_id), agency_id, area, token_role)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            token_hash=hash_token(token),
            user_name=user_name.strip(),
            agency_id=agency_id,
            role=token_role,
            area=area,
        )
    )
    session.flush()
    return token


def revoke_tokens(session: Session, *, user_name: str | None = None, token_id: int | None = None) -> int:
    """Revoke a user's live tokens (or one token by id); returns how many were revoked."""
    if (user_name is None) == (token_id is None):
        raise TokenError("revoke by user name or by token id")
    statement = update(ApiToken).where(ApiToken.revoked_at.is_(None))
    statement = (
        statement.where(ApiToken.user_name == user_name)
        if user_name is not None
        else statement.where(ApiToken.id == token_id)
    )
    result = session.execute(statement.values(revoked_at=datetime.now(UTC)))
    return int(getattr(result, "rowcount", 0) or 0)


def user_for_token(session: Session, token: str) -> User | None:
    """The holder of a live token, or None for an unknown or revoked one, or one that no longer fits the
    directory (an agency deactivated, a role taken away, a national agency's token issued with an area)."""
    found = session.execute(
        select(ApiToken, Agency)
        .outerjoin(Agency, Agency.agency_id == ApiToken.agency_id)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    ).one_or_none()
    if found is None:
        return None
    row, agency = found
    if row.agency_id is not None:
        try:
            token_fits_directory(agency, row.agency_id, row.area, Role(row.role))
        except TokenError:
            return None
    return User(
        token_id=row.id,
        user_name=row.user_name,
        agency_id=row.agency_id,
        role=Role(row.role),
        area=row.area,
    )
