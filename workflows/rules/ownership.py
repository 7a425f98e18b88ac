"""Who may send each event, and whose deadlines it may meet (DOMAIN.md: each deadline names the agency or role
responsible for it). Each event's permission is in its row of registry.py; this module holds the one check.

An agency meets only the deadlines it is responsible for. The co-ordinator records on agencies' behalf: that is
allowed, and the deadline says so (`met_by`, `met_for`). Events that meet deadlines only as a consequence (the
chair's meeting meets the co-ordinator's meeting deadlines) are marked so; the rest meet only their sender's own.

The API authorises with the same permission and the same check before it sends an event (api/auth.py adds the
area and the audit trail); the case checks again when the event arrives with its sender (`Event.sent_by`, from
the token). An event recorded before senders were carried has none, and is applied as it was then.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from workflows.rules.actors import Actor, Role
from workflows.rules.due_dates import Deadline
from workflows.rules.errors import NotResponsible


class Meets(StrEnum):
    OWN = "only the sender's own deadlines"  # the co-ordinator may act for the agency responsible
    AS_CONSEQUENCE = "deadlines met as a consequence"  # whoever is responsible (the sender's role decides)


@dataclass(frozen=True)
class Permission:
    """Who may do something: an event sent to a case (its row in registry.py), or an API action such as
    opening a case or reading a minute (api/auth.py)."""

    action: str  # in words, for refusals: "complete an RMP action"
    roles: frozenset[Role]
    # Dotted fields of the event naming the agency that acts: each present must be the sender's own agency.
    acts_as: tuple[str, ...] = ()
    meets: Meets = Meets.AS_CONSEQUENCE
    # Fields only the co-ordinator may fill: they give an agency a role that opens the minutes to it (the ASP
    # chair), so no sender may name itself (a role that opens minutes is conferred, never self-assumed).
    co_ordinator_names: tuple[str, ...] = ()


def allow(
    action: str,
    roles: tuple[Role, ...],
    acts_as: str | tuple[str, ...] = (),
    meets: Meets = Meets.AS_CONSEQUENCE,
    co_ordinator_names: tuple[str, ...] = (),
) -> Permission:
    acting = (acts_as,) if isinstance(acts_as, str) else acts_as
    return Permission(action, frozenset(roles), acting, meets, co_ordinator_names)


def owns(
    action: str,
    roles: tuple[Role, ...],
    acts_as: str | tuple[str, ...] = (),
    co_ordinator_names: tuple[str, ...] = (),
) -> Permission:
    """An event that meets only its sender's own deadlines (the co-ordinator may record it for the agency)."""
    return allow(action, roles, acts_as, Meets.OWN, co_ordinator_names)


def decides(action: str, roles: tuple[Role, ...], acts_as: str | tuple[str, ...] = ()) -> Permission:
    """An event whose deadlines are met as a consequence, whoever they belong to."""
    return allow(action, roles, acts_as, Meets.AS_CONSEQUENCE)


ASP_CHAIR = ("asp_chair_agency",)
CO_ONLY = (Role.CO_ORDINATOR,)
CHAIR_ONLY = (Role.CHAIR,)
AGENCIES = (
    Role.CO_ORDINATOR,
    Role.AGENCY_WORKER,
)  # an agency's own worker, or the co-ordinator on its behalf


def _field(request: object, dotted: str) -> Any:
    value: Any = request
    for part in dotted.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def check_permission(permission: Permission, request: object | None, actor: Actor) -> None:
    """The sender's role may do this, and an agency acts only for itself (the co-ordinator, who records on
    agencies' behalf, excepted). `request` is the event or the API request whose fields name agencies; without
    one only the role is checked."""
    if actor.role not in permission.roles:
        allowed = ", ".join(sorted(r.value for r in permission.roles))
        raise NotResponsible(
            f"a user with the role {actor.role.value} may not {permission.action} (allowed: {allowed})",
            "role",
        )
    if request is None or actor.role is Role.CO_ORDINATOR:
        return
    for dotted in permission.co_ordinator_names:
        if _field(request, dotted) is not None:
            raise NotResponsible(
                f"only the co-ordinator names {dotted}: it is a role that opens the case's minutes to an "
                "agency, so no sender names it, least of all itself",
                "named by the co-ordinator",
                dotted,
            )
    for dotted in permission.acts_as:
        named = _field(request, dotted)
        if named is not None and named != actor.agency:
            raise NotResponsible(
                f"{dotted} is {named}, but the sender is {actor.agency or 'no agency'}: an agency acts only "
                "for itself",
                "agency acts for itself",
                dotted,
            )


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
