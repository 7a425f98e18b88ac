"""Which events each stage of a case accepts, and the rule that handles each: what the case does, on one page.

Stages follow DOMAIN.md (003's five stages, with level 1 and the routes out). A handler is named as the update
that carries its event (workflows/case.py) and lives in the module of its stage.
"""

from __future__ import annotations

from collections.abc import Callable

from workflows.rules import (
    asp_side,
    confidentiality,
    exit,
    information_exchange,
    level_1,
    management,
    meetings,
    pre_notification,
    referral,
    safeguarding,
)
from workflows.rules import events as ev
from workflows.rules.records import ACTIVE_STAGES, CLOSED_STAGES, Stage

__all__ = ["ACTIVE_STAGES", "CLOSED_STAGES", "STAGE_TABLE", "Stage"]

Handler = Callable[..., None]  # (case, policy, event, now) -> None

_ANY = ACTIVE_STAGES - {Stage.EXITING}  # every stage of an open case under MAPPA
# What outlives the decision to exit: the case stays open, at stage exiting, until these are met.
_ANY_OR_EXITING = ACTIVE_STAGES
# A subject access request may come after the case has closed: it re-opens it to stage exiting (001).
_SUBJECT_ACCESS = ACTIVE_STAGES | {Stage.EXITED}
_AWAITING = frozenset({Stage.AWAITING_NOTIFICATION})
_NOTIFIED = frozenset({Stage.NOTIFICATION})
_REFERRABLE = frozenset({Stage.AWAITING_NOTIFICATION, Stage.NOTIFICATION, Stage.REFERRAL_DUE, Stage.LEVEL_1})
_BEFORE_INITIAL_MEETING = frozenset({Stage.INFORMATION_SHARING})
_REFERRED = frozenset({Stage.REFERRAL})
_SEARCHING = frozenset({Stage.INFORMATION_SHARING, Stage.ACTIVE_MANAGEMENT, Stage.LEVEL_1})
# 000: every notification and referral, whatever its level (level 1 included), is screened.
_SCREENABLE_FOR_ASP = ACTIVE_STAGES
_MEETING = frozenset({Stage.INFORMATION_SHARING, Stage.ACTIVE_MANAGEMENT})
_MANAGED = frozenset({Stage.ACTIVE_MANAGEMENT})
# A level 1 case stays under its lead agency while a referral is due or decided.
_LEVEL_1 = frozenset({Stage.LEVEL_1, Stage.REFERRAL_DUE, Stage.REFERRAL})

# fmt: off
STAGE_TABLE: dict[type[ev.Event], tuple[frozenset[Stage], Handler]] = {
    # notification and referral
    ev.NotificationSubmitted:       (_AWAITING,           pre_notification.submit_notification),
    ev.ReleaseDateChanged:          (_ANY,                pre_notification.change_release_date),
    ev.DischargeDateChanged:        (_ANY,                pre_notification.change_discharge_date),
    ev.ScreeningDecision:           (_NOTIFIED,           referral.screen_notification),
    ev.ReferralSubmitted:           (_REFERRABLE,         referral.submit_referral),
    ev.FurtherInformationRequested: (_REFERRED,           referral.request_further_information),
    ev.FurtherInformationSupplied:  (_REFERRED,           referral.supply_further_information),
    ev.ReferralDecision:            (_REFERRED,           referral.decide_referral),
    # information sharing and meetings
    ev.RecordSearchReturned:        (_SEARCHING,          meetings.return_record_search),
    ev.PreMeetingInformationSent:   (_BEFORE_INITIAL_MEETING,
                                                          information_exchange.send_pre_meeting_information),
    ev.MeetingHeld:                 (_MEETING,            meetings.record_meeting),
    ev.MinutesCirculated:           (_ANY_OR_EXITING,     meetings.circulate_minutes),
    ev.SwisAlertUpdated:            (_ANY_OR_EXITING,     meetings.record_swis_alert_update),
    ev.RmpActionCompleted:          (_ANY,                meetings.complete_rmp_action),
    # active management, risk and level changes
    ev.RiskChangeReported:          (_ANY,                management.report_risk_change),
    ev.RiskChangeTriaged:           (_ANY,                management.triage_risk_change),
    ev.LevelChanged:                (_MANAGED,            management.change_level),
    ev.Level1PlanRecorded:          (_LEVEL_1,            level_1.record_level_1_plan),
    ev.Level1ReviewRecorded:        (_LEVEL_1,            level_1.record_level_1_review),
    # safeguarding: ASP (Scotland), adults at risk, child protection
    ev.AspScreening:                (_SCREENABLE_FOR_ASP, safeguarding.record_asp_screening),
    ev.Ap1ReferralMade:             (_ANY_OR_EXITING,     safeguarding.record_ap1_referral),
    ev.AspInquiryConcern:           (_ANY,                safeguarding.record_asp_inquiry_concern),
    ev.AspInformationShared:        (_ANY_OR_EXITING,     safeguarding.record_asp_information_shared),
    ev.AspChairNamed:               (_ANY,                asp_side.name_asp_chair),
    ev.AspSideClosed:               (_ANY,                asp_side.close_asp_side),
    ev.AdultAtRiskIdentified:       (_ANY,                safeguarding.record_adult_at_risk),
    ev.AdultSafeguardingReferralMade:
                                    (_ANY_OR_EXITING,     safeguarding.record_adult_safeguarding_referral),
    ev.ChildrenAtRisk:              (_ANY,                safeguarding.record_children_at_risk),
    ev.ChildProtectionReferralMade: (_ANY_OR_EXITING,     safeguarding.record_child_protection_referral),
    # exit
    ev.SonrEndNoticeGiven:          (_ANY,                exit.give_sonr_end_notice),
    ev.SupervisionEndNoticeGiven:   (_ANY,                exit.give_supervision_end_notice),
    ev.EndDateRecorded:             (_ANY,                exit.record_end_date),
    ev.ExitDecision:                (_ANY,                exit.decide_exit),
    # confidentiality and subject access
    ev.SubjectInformed:             (_ANY,                confidentiality.record_subject_informed),
    ev.ConclusionsSharedWithChildProtection:
                                    (_ANY,                confidentiality.share_with_child_protection),
    ev.SubjectAccessRequested:      (_SUBJECT_ACCESS,     confidentiality.request_subject_access),
    ev.SarAgencyView:               (_ANY_OR_EXITING,     confidentiality.record_sar_agency_view),
    ev.SarDecided:                  (_ANY_OR_EXITING,     confidentiality.decide_subject_access),
}
# fmt: on


def accepts(stage: Stage) -> list[type[ev.Event]]:
    """The events a case at `stage` takes (for documentation and tests)."""
    return [event for event, (stages, _) in STAGE_TABLE.items() if stage in stages]
