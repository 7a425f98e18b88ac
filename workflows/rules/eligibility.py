"""Who may come into MAPPA, and who may refer them (DOMAIN.md; 001, 003, 004): the checks every opening passes before a
workflow is started for it (also used by the API and the import), the category criteria and the referrers.
"""

from __future__ import annotations

from collections.abc import Collection

from workflows.rules import events as ev
from workflows.rules.calendar import Jurisdiction
from workflows.rules.errors import RuleViolation
from workflows.rules.policy import AreaPolicy, UnknownArea, area_policy
from workflows.rules.pre_notification import check_pre_notification, pre_notification_facts, release_day
from workflows.rules.rule_changes import (
    ELIGIBILITY,
    RULE_CHANGES,
    SCOTTISH_CATEGORY_2_RESTRICTED_PATIENTS,
)


def check_opening(opening: ev.CaseOpening, rule_changes: Collection[str] = RULE_CHANGES) -> AreaPolicy:
    """The rules a new case must satisfy before a workflow is started for it (also used by the API), under the
    rule corrections it follows (a case opened before one replays its opening without it)."""
    policy = _area_policy_of(opening)
    if ELIGIBILITY in rule_changes and opening.subject_is_offender:
        check_category_criteria(
            opening,
            scottish_category_2=SCOTTISH_CATEGORY_2_RESTRICTED_PATIENTS in rule_changes
            and opening.jurisdiction is Jurisdiction.SCOTLAND,
        )
        if opening.referral is not None:
            check_referrer(policy, opening.category, opening.referral, "referral.")
    check_pre_notification(opening)
    if opening.notification is None and opening.referral is None and not pre_notification_facts(opening):
        raise RuleViolation(
            "a case opens with a notification or a referral, or before them with a court disposal, an "
            "upcoming release or a hospital discharge",
            "case opening",
            "notification",
        )
    if opening.notification is not None and opening.referral is not None:
        raise RuleViolation(
            "send the notification and the referral as separate events", "case opening", "referral"
        )
    if opening.route is ev.EntryRoute.CUSTODY and release_day(opening) is None:
        raise RuleViolation("a custody case needs its release date", "custody release date", "release_date")
    if (
        opening.subject_is_offender
        and opening.route is ev.EntryRoute.COMMUNITY
        and opening.notification
        and opening.notification.disposal_date is None
    ):
        raise RuleViolation(
            "a community notification needs the date of the sentence disposal (due 3 working days after it, 003)",
            "notification timescale",
            "notification.disposal_date",
        )
    if (
        opening.referral
        and opening.referral.level_sought == 3
        and not opening.referral.level_2_cannot_deliver
    ):
        raise RuleViolation(
            "a level 3 referral must say which parts of the risk management plan level 2 cannot deliver (001, 003)",
            "level 3 referral statement",
            "referral.level_2_cannot_deliver",
        )
    return policy


def _area_policy_of(opening: ev.CaseOpening) -> AreaPolicy:
    """The opening's area, in the jurisdiction it names, where its category is a MAPPA category."""
    try:
        policy = area_policy(opening.area)
    except UnknownArea:
        raise RuleViolation(f"unknown MAPPA area '{opening.area}'", "area", "area") from None
    if policy.area.jurisdiction is not opening.jurisdiction:
        raise RuleViolation(
            f"{policy.area.name} is in {policy.policy.name}, not {opening.jurisdiction.value}",
            "jurisdiction",
            "jurisdiction",
        )
    if opening.category not in policy.policy.categories:
        terrorism = (
            " (terrorist or terrorism-risk offenders are category 3 there, 000)"
            if opening.category == 4
            else ""
        )
        raise RuleViolation(
            f"category {opening.category} is not a MAPPA category in {policy.policy.name}{terrorism}",
            "category",
            "category",
        )
    return policy


def check_category_criteria(opening: ev.CaseOpening, scottish_category_2: bool = False) -> None:
    """004 "MAPPA Categories of offenders" (England and Wales): category 2, certain violent offenders sentenced
    to 12 months or more in custody or to detention in hospital, now in the community under supervision;
    category 3, other dangerous offenders who have committed an offence and pose a risk of serious harm to the
    public. In Scotland (`scottish_category_2`) category 2 is the mentally disordered restricted patient (000:
    category 3 is for "those who are not mentally disordered restricted patients"; 001 "Key stages")."""
    if opening.category == 2 and scottish_category_2:
        if not (opening.restricted_patient or opening.route is ev.EntryRoute.RESTRICTED_PATIENT):
            raise RuleViolation(
                "in Scotland category 2 is the mentally disordered restricted patient (000, 001): confirm "
                "restricted_patient; a violent offender under supervision is category 3 there",
                "category 2 criteria",
                "restricted_patient",
            )
    elif opening.category == 2:
        if not (opening.hospital_order or (opening.custody_months or 0) >= 12):
            raise RuleViolation(
                "category 2 is for violent offenders sentenced to 12 months or more in custody or to detention "
                "in hospital (004): give custody_months (12 or more) or hospital_order",
                "category 2 criteria",
                "custody_months",
            )
        if not opening.subject_to_supervision:
            raise RuleViolation(
                "category 2 offenders are subject to supervision or licence in the community (004): "
                "confirm subject_to_supervision",
                "category 2 criteria",
                "subject_to_supervision",
            )
    if opening.category == 3:
        if not opening.previous_offence:
            raise RuleViolation(
                "category 3 is for offenders who have committed an offence in the past (004): confirm "
                "previous_offence",
                "category 3 criteria",
                "previous_offence",
            )
        if not opening.risk_of_serious_harm:
            raise RuleViolation(
                "category 3 offenders are considered to pose a risk of serious harm to the public (004): "
                "confirm risk_of_serious_harm",
                "category 3 criteria",
                "risk_of_serious_harm",
            )


def check_referrer(policy: AreaPolicy, category: int, e: ev.ReferralSubmitted, prefix: str = "") -> None:
    """Who may refer each category (001 "Key stages", 003 stage 1; 002 section 4 in England and Wales)."""
    # The API fills the kind in from the directory; an event without it (an agency the directory does not
    # know) cannot be checked here.
    kind = e.referring_agency_kind
    if kind is None:
        return
    restricted = policy.policy.referrers is not None
    if not policy.may_refer(category, kind):
        allowed = sorted((policy.policy.referrers or {}).get(category, ()))
        raise RuleViolation(
            f"in {policy.policy.name} a category {category} referral comes from {', '.join(allowed)}, not "
            f"{kind} ({policy.policy.referrers_source}); another agency asks one of them to refer",
            "who may refer",
            f"{prefix}referring_agency_kind",
        )
    if (
        restricted
        and category == 3
        and kind not in ("police", "justice-social-work")
        and not e.police_or_social_work_contacted
    ):
        raise RuleViolation(
            "any agency may refer a category 3 case, but contact the police and/or social work first (003 "
            "stage 1), and confirm police_or_social_work_contacted",
            "who may refer",
            f"{prefix}police_or_social_work_contacted",
        )
