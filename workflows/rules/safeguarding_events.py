"""The safeguarding events (000, 002, 004): ASP screening, the AP1 referral and the ASP side, adults at risk in
England and Wales, and children at risk named for child protection.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workflows.rules.event_fields import AgencyId, ChildBirthDate, Event, PersonName, ShortText


class AspScreening(Event):
    """The ASP 3-point test (Adult Support and Protection (Scotland) Act 2007 s3), for one adult.

    A case can involve more than one adult at risk (the subject, a victim, another adult): name a new one, give
    the `adult_id` of one already screened to screen them again, or give neither for the subject."""

    aged_16_or_over: bool
    unable_to_safeguard_own_interests: bool
    at_risk_of_harm: bool
    more_vulnerable_than_others: bool
    adult_id: str | None = Field(
        default=None, pattern=r"^adult-[0-9]{1,3}$", description="An adult already screened, screened again."
    )
    adult_name: PersonName | None = Field(
        default=None, description="A new adult at risk other than the subject (personal data: encrypted)."
    )

    @property
    def criteria_met(self) -> bool:
        return (
            self.aged_16_or_over
            and self.unable_to_safeguard_own_interests
            and self.at_risk_of_harm
            and self.more_vulnerable_than_others
        )


class Ap1ReferralMade(Event):
    locality: ShortText
    adult_id: str | None = Field(
        default=None,
        pattern=r"^adult-[0-9]{1,3}$",
        description="The adult the AP1 is for; needed only when more than one AP1 is due.",
    )
    asp_chair_agency: AgencyId | None = Field(
        default=None,
        description="Cases opened before the co-ordinator named the ASP chair only: the co-ordinator now names "
        "it (asp-chair), never the agency making the AP1.",
    )


class AspChairNamed(Event):
    """The co-ordinator names the ASP chair's agency: while the case is open to both MAPPA and ASP, that chair
    gets copies of the minutes (000). Naming a chair opens the ASP side."""

    asp_chair_agency: AgencyId
    reason: ShortText | None = None


class AspSideClosed(Event):
    """The ASP side of the case closed: its chair stops getting the minutes."""

    reason: ShortText


class AspInquiryConcern(Event):
    """An ASP inquiry found that the adult is a MAPPA case or raised a MAPPA concern."""

    raised_by: AgencyId
    summary: ShortText | None = None


AspSharedItem = Literal["name", "date-of-birth", "address", "needs", "risks"]


class AspInformationShared(Event):
    """000: name, date of birth, address, needs and risks of the perpetrator and any victim, shared the same day
    with the locality justice team (when open to justice services) or, if police led, the SOPU."""

    shared_with: AgencyId
    recipient: Literal["justice-social-work", "sopu"] | None = Field(
        default=None, description="Which of 000's recipients: justice social work, or the police unit (SOPU)."
    )
    shared: list[AspSharedItem] = Field(
        default_factory=list, max_length=5, description="What was shared (000 lists all five)."
    )
    about: list[Literal["perpetrator", "victim"]] = Field(default_factory=list, max_length=2)


class AdultAtRiskIdentified(Event):
    """England and Wales: a specific adult at risk from the subject is referred into the local authority's adult
    safeguarding procedures (Care Act; 002 "Specific Vulnerable Adults ... Vulnerable Adults procedures", 004)."""

    identified_by: AgencyId
    adult_name: PersonName | None = Field(
        default=None,
        description="The adult at risk; omit when it is the subject (004: e.g. an elderly offender). Personal "
        "data: encrypted, never in search attributes, ledger or e-mail.",
    )


class AdultSafeguardingReferralMade(Event):
    referred_by: AgencyId
    local_authority: AgencyId = Field(description="The council whose adult safeguarding takes the referral.")
    adult_id: str | None = Field(
        default=None,
        pattern=r"^adult-[0-9]{1,3}$",
        description="The adult referred; needed only when more than one referral is due.",
    )


class ChildAtRisk(Event):
    name: PersonName
    date_of_birth: ChildBirthDate | None = None


class ChildrenAtRisk(Event):
    """Specific children at risk, named (002): personal data, encrypted, never counted in place of names."""

    children: list[ChildAtRisk] = Field(default_factory=list, max_length=50)
    number_of_children: int | None = Field(
        default=None, ge=1, le=50, description="Cases opened before children were named only."
    )
    identified_by: AgencyId

    @model_validator(mode="after")
    def _names_or_old_count(self) -> ChildrenAtRisk:
        if not self.children and self.number_of_children is None:
            raise ValueError("name each child at risk (children)")
        return self


class ChildProtectionReferralMade(Event):
    referred_by: AgencyId
