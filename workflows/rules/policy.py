"""Which timescales apply where: one policy per jurisdiction (Scotland, England and Wales), the MAPPA areas, and
each area's overrides. The timescales themselves are in timescales.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

from workflows.rules.calendar import Jurisdiction, WorkingDayCalendar, easter_mondays
from workflows.rules.events import ChairGrade
from workflows.rules.rule_tables import (
    COMMON_RULES,
    ENGLAND_AND_WALES_ONLY_RULES,
    LEVEL_1_AND_SUBJECT_RULES,
    SCOTLAND_ONLY_RULES,
    SUBJECT_ACCESS_RULES,
    TIMELINE_RULES,
    level_1_review_rule,
    review_rules,
)
from workflows.rules.timescales import (
    DeadlineKind,
    StatutoryRule,
    Timescale,
)

__all__ = ["DeadlineKind", "StatutoryRule", "Timescale"]


@dataclass(frozen=True)
class JurisdictionPolicy:
    jurisdiction: Jurisdiction
    name: str
    rules: dict[DeadlineKind, StatutoryRule]
    asp_link: bool  # Adult Support and Protection (Scotland) Act 2007 applies
    swis_alerts: bool  # Social Work Information System alerts exist
    category_3_may_be_level_1: bool
    categories: tuple[int, ...]
    # While a deadline stays breached, the chair is told again every N working days.
    re_escalation_working_days: int = 2
    # Who may refer, by category: the kinds of agency (None: any agency may refer).
    referrers: dict[int, frozenset[str]] | None = None
    referrers_source: str = ""
    # The least senior chair each managed level may have, with the guidance's words for it.
    chair_grades: dict[int, tuple[ChairGrade, str]] = field(default_factory=dict)
    # After further information arrives, the meeting clock counts from that day ("restart") or from the
    # original receipt ("original"). 001/003 only say the request "may delay" the meeting.
    meeting_clock_after_further_information: Literal["restart", "original"] = "restart"
    # 004 "Level 3": moving to level 3 states which of its criteria hold (England and Wales).
    level_3_criteria: bool = False
    # The responsible authorities (DOMAIN.md, 004), by kind of agency: only one of them leads a case.
    responsible_authorities: frozenset[str] = frozenset()

    def rule(self, kind: DeadlineKind) -> StatutoryRule:
        try:
            return self.rules[kind]
        except KeyError:
            raise KeyError(f"{kind.value} does not apply in {self.name}") from None


# 004 "MAPPA Levels of Management": level 2 chaired / co-chaired by a Police Detective Inspector and Senior
# Probation Officer, level 3 by a Police Detective Chief Inspector / Probation Head of Cluster (England and Wales).
# The Scottish seeds name no grade: the same grades apply there as a policy value, not as 004's rule.
def chair_grades(source: str) -> dict[int, tuple[ChairGrade, str]]:
    return {
        2: (
            ChairGrade.MANAGER,
            f"a manager (e.g. Police Detective Inspector, Senior Probation Officer) or above ({source})",
        ),
        3: (
            ChairGrade.SENIOR_MANAGER,
            f"a senior manager (e.g. Police Detective Chief Inspector, Probation Head of Cluster) ({source})",
        ),
    }


CHAIR_GRADES = chair_grades("004")
SCOTTISH_CHAIR_GRADES = chair_grades("a policy value in Scotland, whose guidance names no grade")

# 001 "Key stages": for RSOs, restricted patients (category 2 in Scotland) and category 3, referrals come from
# SPS, CJSW, police and health; 003 stage 1: for category 3 any agency may refer (after contacting the police /
# social work).
_SCOTTISH_RESPONSIBLE_AUTHORITIES = frozenset({"police", "justice-social-work", "prison", "health"})

SCOTLAND = JurisdictionPolicy(
    jurisdiction=Jurisdiction.SCOTLAND,
    name="Scotland",
    rules={
        r.kind: r
        for r in (
            *COMMON_RULES,
            *SUBJECT_ACCESS_RULES,
            *TIMELINE_RULES,
            *SCOTLAND_ONLY_RULES,
            *review_rules(12, 6, "001, 003"),
            *LEVEL_1_AND_SUBJECT_RULES,
            # 004 says only "regularly": no less often than the level 2 maximum (a policy value).
            level_1_review_rule(12, "004; 12 weeks a policy value (the level 2 maximum)"),
        )
    },
    asp_link=True,
    swis_alerts=True,
    category_3_may_be_level_1=False,
    categories=(1, 2, 3),
    referrers={1: _SCOTTISH_RESPONSIBLE_AUTHORITIES, 2: _SCOTTISH_RESPONSIBLE_AUTHORITIES},
    referrers_source="001 'Key stages', 003 stage 1",
    chair_grades=SCOTTISH_CHAIR_GRADES,
    responsible_authorities=_SCOTTISH_RESPONSIBLE_AUTHORITIES,
)

ENGLAND_AND_WALES_SEEDS = frozenset({"002", "004"})


def for_england_and_wales(rule: StatutoryRule) -> StatutoryRule:
    """A timescale no England and Wales seed (002, 004) sets is a policy value there, whatever Scottish seed
    the figure comes from; an area can override it like any other (`Area.overrides`)."""
    seeds = set(re.findall(r"\b00[0-4]\b", rule.source))
    if seeds & ENGLAND_AND_WALES_SEEDS or "policy value" in rule.source:
        return rule
    return replace(
        rule,
        source=f"policy value in England and Wales (no England and Wales seed sets it; the figure of "
        f"{rule.source} is applied)",
    )


ENGLAND_AND_WALES = JurisdictionPolicy(
    jurisdiction=Jurisdiction.ENGLAND_AND_WALES,
    name="England and Wales",
    rules={
        r.kind: r
        for r in (
            *map(for_england_and_wales, (*COMMON_RULES, *SUBJECT_ACCESS_RULES, *TIMELINE_RULES)),
            *ENGLAND_AND_WALES_ONLY_RULES,
            # 004 repeats "16 weeks" for level 3, a known slip of that page: no seed sets the level 3 figure.
            *review_rules(
                16,
                8,
                "004",
                "policy value in England and Wales (8 weeks, the national MAPPA guidance's figure; 004's page "
                "repeats the level 2 figure of 16 weeks for level 3, a slip)",
            ),
            *LEVEL_1_AND_SUBJECT_RULES,
            level_1_review_rule(16, "004; 16 weeks a policy value (the level 2 maximum)"),
        )
    },
    asp_link=False,
    swis_alerts=False,
    category_3_may_be_level_1=True,
    # Category 4 (terrorist or terrorism-risk offenders) is a policy value: 004 lists three categories; the
    # national MAPPA guidance added the fourth in 2024. In Scotland they fall in category 3 (000).
    categories=(1, 2, 3, 4),
    # 002 section 4: any agency can refer an offender into the MAPPA system.
    referrers=None,
    referrers_source="002 section 4",
    chair_grades=CHAIR_GRADES,
    level_3_criteria=True,
    responsible_authorities=frozenset({"police", "probation", "prison"}),
)

JURISDICTIONS: dict[Jurisdiction, JurisdictionPolicy] = {
    Jurisdiction.SCOTLAND: SCOTLAND,
    Jurisdiction.ENGLAND_AND_WALES: ENGLAND_AND_WALES,
}


@dataclass(frozen=True)
class Area:
    """A MAPPA area: its jurisdiction, local holidays and any timescales it sets itself."""

    area_id: str
    code: str  # three letters in case references (MAPPA-LAN-...): an area is not personal data
    name: str
    jurisdiction: Jurisdiction
    local_holidays: dict[date, str] = field(default_factory=dict)
    overrides: dict[DeadlineKind, Timescale] = field(default_factory=dict)


AREAS: dict[str, Area] = {
    a.area_id: a
    for a in (
        Area(
            "lanarkshire",
            "LAN",
            "Lanarkshire",
            Jurisdiction.SCOTLAND,
            # Easter Monday is not a Scottish bank holiday, but the Lanarkshire councils close for it, every year.
            local_holidays=easter_mondays(),
        ),
        Area("glasgow", "GLA", "Glasgow", Jurisdiction.SCOTLAND),
        Area("lothian-and-borders", "LOB", "Lothian and Borders", Jurisdiction.SCOTLAND),
        Area("wiltshire-and-swindon", "WAS", "Wiltshire and Swindon", Jurisdiction.ENGLAND_AND_WALES),
        Area("greater-manchester", "GMA", "Greater Manchester", Jurisdiction.ENGLAND_AND_WALES),
        Area("south-wales", "SWA", "South Wales", Jurisdiction.ENGLAND_AND_WALES),
    )
}


class UnknownArea(KeyError):
    pass


def area_by_code(code: str) -> Area:
    for area in AREAS.values():
        if area.code == code:
            return area
    raise UnknownArea(code)


@dataclass(frozen=True)
class AreaPolicy:
    """The policy in force for one area: its jurisdiction's rules with the area's overrides applied."""

    area: Area
    policy: JurisdictionPolicy
    calendar: WorkingDayCalendar

    def rule(self, kind: DeadlineKind) -> StatutoryRule:
        base = self.policy.rule(kind)
        override = self.area.overrides.get(kind)
        if override is None:
            return base
        return replace(base, timescale=override, source=f"{base.source}; {self.area.name} area policy")

    def may_refer(self, category: int, agency_kind: str) -> bool:
        """Whether an agency of this kind may refer a case of this category (001, 003; 002: any agency)."""
        allowed = (self.policy.referrers or {}).get(category)
        return allowed is None or agency_kind in allowed

    def may_lead(self, agency_kind: str) -> bool:
        """Whether an agency of this kind may lead a case: a responsible authority of the jurisdiction (004)."""
        return agency_kind in self.policy.responsible_authorities

    def applies(self, kind: DeadlineKind) -> bool:
        return kind in self.policy.rules


def area_policy(area_id: str, areas: dict[str, Area] | None = None) -> AreaPolicy:
    known = AREAS if areas is None else areas
    if area_id not in known:
        raise UnknownArea(area_id)
    area = known[area_id]
    policy = JURISDICTIONS[area.jurisdiction]
    return AreaPolicy(area, policy, WorkingDayCalendar(area.jurisdiction, area.local_holidays))
