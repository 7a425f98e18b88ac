"""Who may send each event, and whose deadlines it may meet: one table (DOMAIN.md: each deadline names the agency
or role responsible for it).

An agency meets only the deadlines it is responsible for. The co-ordinator records on agencies' behalf: that is
allowed, and the deadline says so (`met_by`, `met_for`). Events that meet deadlines only as a consequence (the
chair's meeting meets the co-ordinator's meeting deadlines) are marked so; the rest meet only their sender's own.

The API authorises from the same table before it sends an event (api/auth.py, with the area and the audit
trail); the case applies it again when the event arrives with its sender (`Event.sent_by`, from the token).
An event recorded before senders were carried has none, and is applied as it was then.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from workflows.rules import events as ev
from workflows.rules.actors import Actor, Role
from workflows.rules.due_dates import Deadline
from workflows.rules.errors import NotResponsible


class Meets(StrEnum):
    OWN = "only the sender's own deadlines"  # the co-ordinator may act for the agency responsible
    AS_CONSEQUENCE = "deadlines met as a consequence"  # whoever is responsible (the sender's role decides)


@dataclass(frozen=True)
class Ownership:
    action: str  # in words, for refusals: "complete an RMP action"
    roles: frozenset[Role]
    # Dotted fields of the event naming the agency that acts: each present must be the sender's own agency.
    acts_as: tuple[str, ...] = ()
    meets: Meets = Meets.AS_CONSEQUENCE
    # Fields only the co-ordinator may fill: they give an agency a role that opens the minutes to it (the ASP
    # chair), so no sender may name itself (a role that opens minutes is conferred, never self-assumed).
    co_ordinator_names: tuple[str, ...] = ()


def _owns(
    action: str,
    roles: tuple[Role, ...],
    acts_as: str | tuple[str, ...] = (),
    meets: Meets = Meets.OWN,
    co_ordinator_names: tuple[str, ...] = (),
) -> Ownership:
    acting = (acts_as,) if isinstance(acts_as, str) else acts_as
    return Ownership(action, frozenset(roles), acting, meets, co_ordinator_names)


def _decides(action: str, roles: tuple[Role, ...], acts_as: str | tuple[str, ...] = ()) -> Ownership:
    return _owns(action, roles, acts_as, Meets.AS_CONSEQUENCE)


ASP_CHAIR = ("asp_chair_agency",)


CO_ONLY = (Role.CO_ORDINATOR,)
CHAIR_ONLY = (Role.CHAIR,)
AGENCIES = (
    Role.CO_ORDINATOR,
    Role.AGENCY_WORKER,
)  # an agency's own worker, or the co-ordinator on its behalf

# fmt: off
OWNERSHIP: dict[type[ev.Event], Ownership] = {
    # event                         what it does, in words               who may     the acting agency's field
    ev.ScreeningDecision:           _decides("screen a notification",           CO_ONLY),
    ev.ReferralSubmitted:           _decides("submit a referral",               AGENCIES,   "referring_agency"),
    ev.FurtherInformationRequested: _decides("request further information",     CO_ONLY),
    ev.FurtherInformationSupplied:  _owns("supply further information",         AGENCIES,   "supplied_by"),
    ev.ReferralDecision:            _decides("decide on a referral",            CO_ONLY),
    ev.RecordSearchReturned:        _owns("return a record search",             AGENCIES,   "agency"),
    ev.AspScreening:                _decides("record the ASP screening",        CO_ONLY),
    ev.Ap1ReferralMade:             _owns("record an AP1 referral",             AGENCIES, (), Meets.OWN, ASP_CHAIR),
    ev.AspInquiryConcern:           _decides("raise an ASP inquiry concern",    AGENCIES,   "raised_by"),
    ev.AspInformationShared:        _owns("record ASP information shared",      AGENCIES),
    ev.AspChairNamed:               _decides("name the ASP chair",              CO_ONLY),
    ev.AspSideClosed:               _decides("close the ASP side",              CO_ONLY),
    ev.AdultAtRiskIdentified:       _decides("refer an adult at risk",          AGENCIES,   "identified_by"),
    ev.AdultSafeguardingReferralMade:
                                    _owns("record an adult safeguarding referral", AGENCIES, "referred_by"),
    ev.ChildrenAtRisk:              _decides("report children at risk",         AGENCIES,   "identified_by"),
    ev.ChildProtectionReferralMade: _owns("refer to child protection",          AGENCIES,   "referred_by"),
    ev.MeetingHeld:                 _decides("record a meeting",                CHAIR_ONLY, "chair_agency"),
    ev.MinutesCirculated:           _decides("circulate minutes",               CO_ONLY),
    ev.SwisAlertUpdated:            _owns("record a SWIS alert update",         AGENCIES),
    ev.RmpActionCompleted:          _owns("complete an RMP action",             AGENCIES),
    ev.RiskChangeReported:          _decides("report a change in risk",         AGENCIES,   "reporting_agency"),
    ev.RiskChangeTriaged:           _decides("triage a change in risk",         CO_ONLY),
    ev.LevelChanged:                _decides("change the level",                CO_ONLY),
    ev.Level1PlanRecorded:          _owns("record the level 1 plan",            AGENCIES,   "recorded_by"),
    ev.Level1ReviewRecorded:        _owns("record a level 1 review",            AGENCIES,   "reviewed_by"),
    ev.SonrEndNoticeGiven:          _owns("give the SONR end notice",           AGENCIES,   "given_by"),
    ev.SupervisionEndNoticeGiven:   _owns("give the supervision end notice",    AGENCIES,   "given_by"),
    ev.EndDateRecorded:             _decides("record a SONR or licence end date", AGENCIES,  "recorded_by"),
    ev.ExitDecision:                _decides("decide exit from MAPPA",          CO_ONLY),
    ev.SubjectInformed:             _owns("record the subject informed",        AGENCIES,   "informed_by"),
    ev.ConclusionsSharedWithChildProtection:
                                    _decides("share with child protection",     CHAIR_ONLY),
    ev.SubjectAccessRequested:      _decides("record a subject access request", CO_ONLY),
    ev.SarAgencyView:               _owns("give a view on a subject access request", AGENCIES, "agency"),
    ev.SarDecided:                  _decides("decide a subject access request", (Role.CO_ORDINATOR, Role.CHAIR)),
    ev.NotificationSubmitted:       _owns("submit a notification",              AGENCIES,   "notifying_agency"),
    ev.ReleaseDateChanged:          _decides("record a new release date",       AGENCIES,   "recorded_by"),
    ev.DischargeDateChanged:        _decides("record a new discharge date",     AGENCIES,   "recorded_by"),
    ev.PreMeetingInformationSent:   _decides("send the pre-meeting information", CO_ONLY),
}
# fmt: on


def _field(event: ev.Event, dotted: str) -> Any:
    value: Any = event
    for part in dotted.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def check_sender(event: ev.Event, actor: Actor) -> Ownership:
    """The sender's role may send this event, and an agency acts only for itself (the co-ordinator excepted)."""
    entry = OWNERSHIP.get(type(event))
    if entry is None:
        raise NotResponsible(f"no one may send {type(event).__name__} to a case", "who may send it")
    if actor.role not in entry.roles:
        allowed = ", ".join(sorted(r.value for r in entry.roles))
        raise NotResponsible(
            f"a user with the role {actor.role.value} may not {entry.action} (allowed: {allowed})", "role"
        )
    if actor.role is not Role.CO_ORDINATOR:
        for dotted in entry.co_ordinator_names:
            if _field(event, dotted) is not None:
                raise NotResponsible(
                    f"only the co-ordinator names {dotted}", "named by the co-ordinator", dotted
                )
        for dotted in entry.acts_as:
            named = _field(event, dotted)
            if named is not None and named != actor.agency:
                raise NotResponsible(
                    f"{dotted} is {named}, but the sender is {actor.agency or 'no agency'}: an agency acts only "
                    "for itself",
                    "agency acts for itself",
                    dotted,
                )
    return entry


def may_meet(actor: Actor, responsible: str) -> bool:
    """Whether the sender answers for a deadline `responsible` (an agency id or a role) must meet."""
    return actor.role is Role.CO_ORDINATOR or responsible in (actor.agency, actor.role.value)


def record_meeting_of(deadline: Deadline, actor: Actor | None, meets: Meets | None) -> None:
    """Before a deadline is met by an event: refuse an agency meeting another's deadline, and record who met it
    (and, for the co-ordinator acting for an agency, on whose behalf)."""
    if actor is None or meets is None:
        return  # met by the passage of time, at opening, or by an event recorded before senders were carried
    if meets is Meets.OWN and not may_meet(actor, deadline.responsible):
        raise NotResponsible(
            f"{deadline.title} is {deadline.responsible}'s to meet, not {actor.agency or actor.role.value}'s: an "
            "agency meets only the deadlines it is responsible for (the co-ordinator may record it on its behalf)",
            "deadline owner",
        )
    deadline.met_by = actor.describe()
    acting_for = deadline.responsible not in (actor.agency, actor.role.value)
    deadline.met_for = deadline.responsible if acting_for and meets is Meets.OWN else None


def sender_may_meet(actor: Actor | None, deadlines: list[Deadline]) -> list[Deadline]:
    """Of several deadlines an event could meet (e.g. child protection referrals due), those the sender answers
    for first, so an agency's event meets its own rather than refusing on another's."""
    if actor is None:
        return deadlines
    return sorted(deadlines, key=lambda d: not may_meet(actor, d.responsible))
