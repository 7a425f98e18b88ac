"""The agency directory: each agency's single point of contact, and who holds each MAPPA role in an area.

Notices are addressed to an agency id or a role ("co-ordinator", "chair"); this is where that becomes an
e-mail address. A notice must never be lost: one for an agency the directory does not know goes to the area's
co-ordinator, saying so. Only when the area has no co-ordinator at all does the lookup fail, loudly.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from difflib import get_close_matches
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from core.database import session_factory
from store.models import Agency, AgencyKind, DirectoryRole, RoleHolder, TokenRole
from workflows.rules.calendar import Jurisdiction
from workflows.rules.event_fields import agencies_named
from workflows.rules.policy import AREAS, area_policy

# The example directory (fictional addresses): development, the tests and the benchmarks load it.
SEED_DIRECTORY = Path(__file__).resolve().parent / "seed" / "directory.json"

TokenRoleName = Literal["co-ordinator", "chair", "agency-worker"]
AGENCY_WORKER: TokenRoleName = "agency-worker"

EmailAddress = Annotated[str, Field(pattern=r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$", max_length=254)]
Slug = Annotated[str, Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]

# Where a role has no holder today, the notice goes to the next role in this chain (003: an alternative
# decision-maker covers the co-ordinator's absence; the co-ordinator arranges meetings for the chair).
ROLE_FALLBACK: dict[DirectoryRole, DirectoryRole | None] = {
    DirectoryRole.CHAIR: DirectoryRole.CO_ORDINATOR,
    DirectoryRole.CO_ORDINATOR: DirectoryRole.DEPUTY_CO_ORDINATOR,
    DirectoryRole.DEPUTY_CO_ORDINATOR: None,
}


class AgencyEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agency_id: Slug
    name: str = Field(min_length=1, max_length=200)
    kind: AgencyKind
    area: Slug | None = None  # None only for a national agency
    spoc_email: EmailAddress
    active: bool = True
    national: bool = False  # works in every area (SPS, HMPPS prisons, DWP): its tokens carry no area
    # A national agency: the jurisdictions it works in (an area's agency works in its area's).
    jurisdictions: list[Jurisdiction] = Field(default_factory=list)
    # The roles its people may hold in the API (`mappa tokens issue`): a national agency's, agency-worker only.
    roles: list[TokenRoleName] = Field(default_factory=lambda: [AGENCY_WORKER])
    asp_chair: bool = False  # its Adult Support and Protection chair may be named a case's ASP chair (000)

    @model_validator(mode="after")
    def _national_or_in_one_area(self) -> AgencyEntry:
        if self.national and self.area is not None:
            raise ValueError(f"{self.agency_id} is national: it has no area (remove 'area' or 'national')")
        if not self.national and self.area is None:
            raise ValueError(f"{self.agency_id} names no area: give its area, or mark it national")
        if self.national and not self.jurisdictions:
            raise ValueError(f"{self.agency_id} is national: list the jurisdictions it works in")
        if not self.national and self.jurisdictions:
            raise ValueError(f"{self.agency_id} works in {self.area}: its jurisdiction is its area's")
        if self.national and self.roles != [TokenRole.AGENCY_WORKER.value]:
            raise ValueError(
                f"{self.agency_id} is national: its people act only as agency workers on the cases it is "
                'involved in (roles: ["agency-worker"])'
            )
        if self.asp_chair and (self.area not in AREAS or not area_policy(self.area).policy.asp_link):
            raise ValueError(f"{self.agency_id}: only an agency of a Scottish area chairs ASP")
        return self


class RoleHolderEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    area: Slug
    role: DirectoryRole
    name: str = Field(min_length=1, max_length=200)
    email: EmailAddress
    valid_from: date
    valid_to: date | None = None  # inclusive
    acting: bool = False

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> RoleHolderEntry:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError(f"{self.role} {self.name} in {self.area}: valid_to is before valid_from")
        return self


class DirectoryFile(BaseModel):
    """The directory as kept in JSON (`store/seed/directory.json`, or settings.directory_file)."""

    model_config = ConfigDict(extra="forbid")

    agencies: list[AgencyEntry] = Field(default_factory=list)
    role_holders: list[RoleHolderEntry] = Field(default_factory=list)

    @classmethod
    def read(cls, path: str | Path) -> DirectoryFile:
        return cls.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))


def _example_address(email: str) -> bool:
    """An address at a domain reserved for examples (RFC 2606) or the shipped example's `example.gov.uk`."""
    return "example" in email.rpartition("@")[2].lower().split(".")


def directory_problems(entries: DirectoryFile, today: date, *, allow_examples: bool = False) -> list[str]:
    """What would lose or misdirect notices if this directory were deployed today, in words."""
    problems: list[str] = []
    areas = {a.area for a in entries.agencies if a.area} | {h.area for h in entries.role_holders}
    for area in sorted(areas):
        holders = {
            h.role
            for h in entries.role_holders
            if h.area == area and h.valid_from <= today and (h.valid_to is None or h.valid_to >= today)
        }
        if not holders & {DirectoryRole.CO_ORDINATOR, DirectoryRole.DEPUTY_CO_ORDINATOR}:
            problems.append(
                f"area {area}: nobody holds the co-ordinator or deputy co-ordinator role on {today:%d %b %Y}, "
                "so its escalations cannot be sent"
            )
    ids = [a.agency_id for a in entries.agencies]
    problems += [f"agency {i} is listed more than once" for i in sorted({i for i in ids if ids.count(i) > 1})]
    if not allow_examples:
        examples = [a.spoc_email for a in entries.agencies if _example_address(a.spoc_email)] + [
            h.email for h in entries.role_holders if _example_address(h.email)
        ]
        if examples:
            problems.append(
                f"{len(examples)} address(es) at example domains, e.g. {examples[0]}: put in the real ones"
            )
    return problems


class NoRecipient(LookupError):
    """Nobody in the directory can receive a notice. The activity fails and retries until someone can."""


@dataclass(frozen=True)
class Recipient:
    """Where a notice goes, and why it goes there if not to whom it was addressed."""

    addresses: list[str]
    note: str | None = None  # set when the notice was redirected, for the message itself to say so


def load_directory(engine: Engine, directory: str | Path | DirectoryFile) -> DirectoryFile:
    """Insert or update every agency and role holder in `directory`; loading it twice changes nothing.

    Entries missing from the file are left as they are (deactivate an agency with `"active": false`).
    """
    entries = directory if isinstance(directory, DirectoryFile) else DirectoryFile.read(directory)
    with session_factory(engine).begin() as session:
        for agency in entries.agencies:
            session.merge(Agency(**agency.model_dump(mode="json")))
        for holder in entries.role_holders:
            row = session.scalars(
                select(RoleHolder).where(
                    RoleHolder.area == holder.area,
                    RoleHolder.role == holder.role.value,
                    RoleHolder.email == holder.email,
                    RoleHolder.valid_from == holder.valid_from,
                )
            ).one_or_none()
            if row is None:
                row = RoleHolder(
                    area=holder.area, role=holder.role.value, email=holder.email, valid_from=holder.valid_from
                )
                session.add(row)
            row.name = holder.name
            row.valid_to = holder.valid_to
            row.acting = holder.acting
    return entries


def role_holder(session: Session, area: str, role: DirectoryRole, today: date) -> RoleHolder | None:
    """Who holds `role` in `area` today: an acting holder (covering an absence) first, then the most
    recently appointed."""
    return session.scalars(
        select(RoleHolder)
        .where(
            RoleHolder.area == area,
            RoleHolder.role == role.value,
            RoleHolder.valid_from <= today,
            or_(RoleHolder.valid_to.is_(None), RoleHolder.valid_to >= today),
        )
        .order_by(RoleHolder.acting.desc(), RoleHolder.valid_from.desc(), RoleHolder.id.desc())
        .limit(1)
    ).one_or_none()


def resolve_recipient(
    session: Session, area: str, to: str, today: date, passes_over: Iterable[str] = ()
) -> Recipient:
    """Resolve a notice's `to` (an agency id, or a role of the area) to e-mail addresses. A role falls back along
    ROLE_FALLBACK, passing over the roles in `passes_over` (a breach never goes back to the one who breached)."""
    try:
        role: DirectoryRole | None = DirectoryRole(to)
    except ValueError:
        role = None
    if role is not None:
        return _resolve_role(session, area, role, today, frozenset(passes_over))

    agency = session.get(Agency, to)
    if agency is not None and agency.active:
        return Recipient([agency.spoc_email])
    why = "is not active in the MAPPA directory" if agency is not None else "is not in the MAPPA directory"
    fallback = _resolve_role(session, area, DirectoryRole.CO_ORDINATOR, today)
    note = (
        f"This notice is addressed to agency '{to}', which {why}. It has been sent to the {area} MAPPA "
        "co-ordinator instead: please pass it to that agency's single point of contact and correct the "
        "directory."
    )
    return Recipient(fallback.addresses, note if fallback.note is None else f"{note}\n{fallback.note}")


def _resolve_role(
    session: Session, area: str, role: DirectoryRole, today: date, passes_over: frozenset[str] = frozenset()
) -> Recipient:
    asked_for = role
    current: DirectoryRole | None = role
    while current is not None:
        holder = None if current.value in passes_over else role_holder(session, area, current, today)
        if holder is not None:
            if current is asked_for:
                return Recipient([holder.email])
            return Recipient(
                [holder.email],
                f"This notice is for the {area} MAPPA {asked_for.value}; nobody holds that role on "
                f"{today:%d %b %Y}, so it has been sent to the {current.value}.",
            )
        current = ROLE_FALLBACK[current]
    if passes_over:
        # Nobody else holds a role that could take it: better the one passed over than nobody at all.
        found = _resolve_role(session, area, role, today)
        note = (
            f"Nobody other than the {', '.join(sorted(passes_over))} can receive this notice for the {area} "
            f"MAPPA {asked_for.value} on {today:%d %b %Y}: add a chair or deputy co-ordinator to the directory."
        )
        return Recipient(found.addresses, note if found.note is None else f"{note}\n{found.note}")
    raise NoRecipient(
        f"no {asked_for.value} (nor anyone to cover the role) is in the MAPPA directory for area '{area}' on "
        f"{today:%d %b %Y}: add a role holder to the directory; the notice will be sent when one exists"
    )


def recipient_addresses(session: Session, area: str, to: str, today: date) -> list[str]:
    """The e-mail addresses a notice addressed to `to` goes to (see `resolve_recipient` for the fallbacks)."""
    return resolve_recipient(session, area, to, today).addresses


# ------------------------------------------------------------------------------------------ named agencies


class DirectoryRefusal(ValueError):
    """An agency named in a request that the directory does not allow there: the directory's own error, which the
    API answers as 422 and the import reports on the row."""

    def __init__(self, message: str, field: str | None, rule: str = "agency directory") -> None:
        super().__init__(message)
        self.message, self.field, self.rule = message, field, rule


@dataclass(frozen=True)
class KnownAgency:
    agency_id: str
    kind: str
    area: str | None
    national: bool
    jurisdictions: frozenset[str]
    roles: frozenset[str]
    asp_chair: bool
    active: bool

    @classmethod
    def of(cls, row: Agency | AgencyEntry) -> KnownAgency:
        return cls(
            agency_id=row.agency_id,
            kind=str(row.kind),
            area=row.area,
            national=bool(row.national),
            jurisdictions=frozenset(str(j) for j in row.jurisdictions or ()),
            roles=frozenset(row.roles or (TokenRole.AGENCY_WORKER.value,)),
            asp_chair=bool(row.asp_chair),
            active=bool(row.active),
        )


def _area_name(area_id: str | None) -> str:
    area = AREAS.get(area_id or "")
    return area.name if area else str(area_id)


class AgencyDirectory:
    """The agencies a request names, as the directory holds them: the one check of every named agency (the lead
    agency, the ASP chair, a referrer, attendees, owners...), against the directory and the case's area, used by
    the API's openings and events, the minutes and the import alike."""

    def __init__(self, agencies: Mapping[str, KnownAgency]) -> None:
        self.agencies = dict(agencies)

    @classmethod
    def read(cls, session: Session, agency_ids: Collection[str] | None = None) -> AgencyDirectory:
        """The directory's agencies: those named (one query), or all (an import checks many rows)."""
        query = select(Agency)
        if agency_ids is not None:
            query = query.where(Agency.agency_id.in_(sorted(set(agency_ids))))
        return cls({row.agency_id: KnownAgency.of(row) for row in session.scalars(query)})

    @classmethod
    def of_file(cls, directory: DirectoryFile) -> AgencyDirectory:
        return cls({a.agency_id: KnownAgency.of(a) for a in directory.agencies})

    def check_named(self, area_id: str, *models: BaseModel) -> None:
        """Every agency the models name is in the directory, active, and works in the case's area; the lead agency
        is a responsible authority and the ASP chair an agency that chairs ASP there. Raises DirectoryRefusal."""
        for model in models:
            for field, agency_id in agencies_named(model):
                self.check_agency(area_id, field, agency_id)

    def check_agency(self, area_id: str, field: str, agency_id: str) -> KnownAgency:
        policy = area_policy(area_id)
        area = policy.area
        agency = self.agencies.get(agency_id)
        if agency is None:
            # A typo would otherwise send the agency's notices nowhere: suggest the nearest listed id.
            near = get_close_matches(agency_id, list(self.agencies), n=1, cutoff=0.8)
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise DirectoryRefusal(f"{field}: {agency_id} is not in the MAPPA directory{hint}", field)
        if not agency.active:
            raise DirectoryRefusal(f"{field}: {agency_id} is not active in the MAPPA directory", field)
        if agency.national and area.jurisdiction.value not in agency.jurisdictions:
            raise DirectoryRefusal(
                f"{field}: {agency_id} is a national agency of {', '.join(sorted(agency.jurisdictions))}, "
                f"not of {area.name}'s jurisdiction ({area.jurisdiction.value})",
                field,
            )
        if not agency.national and agency.area != area.area_id:
            raise DirectoryRefusal(
                f"{field}: {agency_id} works in {_area_name(agency.area)}, not {area.name}: a case names the "
                "agencies of its own area (or a national agency)",
                field,
            )
        leaf = field.rsplit(".", 1)[-1]
        if leaf == "lead_agency" and not policy.may_lead(agency.kind):
            raise DirectoryRefusal(
                f"{field}: {agency_id} is a {agency.kind} agency; a case is led by a responsible authority of "
                f"{policy.policy.name} ({', '.join(sorted(policy.policy.responsible_authorities))}) (004)",
                field,
                "lead agency",
            )
        if leaf == "asp_chair_agency" and not agency.asp_chair:
            raise DirectoryRefusal(
                f"{field}: the MAPPA directory does not list {agency_id} as able to chair Adult Support and "
                f"Protection in {area.name}; name a council it lists as an ASP chair (000)",
                field,
                "ASP chair",
            )
        return agency


def check_named_agencies(session: Session, area_id: str, *models: BaseModel) -> None:
    """`AgencyDirectory.check_named` against the agencies the models name, read from the database."""
    named = {agency_id for model in models for _, agency_id in agencies_named(model)}
    if named:
        AgencyDirectory.read(session, named).check_named(area_id, *models)
