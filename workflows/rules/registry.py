"""One row per agency event: everything the system knows about it, in one place.

A row says which stages of a case take the event and the rule that handles it (in its stage's module), who may
send it and whose deadlines it meets (ownership.py), and how the API offers it: its path under
/cases/{case_ref}/, a summary and a description. Everything else is derived from these rows, never kept beside
them: the workflow's updates (one per row, named as its handler: workflows/case.py), the API's routes and
permissions (api/routes/cases.py, api/auth.py) and the README's role table (api/role_table.py).

Adding an event takes three places: its model (events.py), its handler (its stage's module) and its row here
(tests/unit/test_event_registry.py checks that every event has one row and every layer takes it from there).
The handler's name is the name of the update that carries the event: saved case histories name it, so a
handler is never renamed once cases run with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from workflows.rules import (
    asp_side,
    confidentiality,
    exit,
    information_exchange,
    level_1,
    management,
    meeting_schedule,
    meetings,
    pre_notification,
    recall,
    referral,
    safeguarding,
    transfer,
)
from workflows.rules import events as ev
from workflows.rules import transfer_events as te
from workflows.rules.actors import Role
from workflows.rules.ownership import AGENCIES, ASP_CHAIR, CHAIR_ONLY, CO_ONLY, Permission, decides, owns
from workflows.rules.stages import (
    ANY,
    ANY_OR_EXITING,
    AWAITING,
    LEVEL_1,
    MANAGED,
    MEETING,
    NOTIFIED,
    RECALLABLE,
    REFERRABLE,
    REFERRED,
    SCREENABLE_FOR_ASP,
    SEARCHING,
    SUBJECT_ACCESS,
    Stage,
)

Handler = Callable[..., None]  # (case, policy, event, now) -> None


@dataclass(frozen=True)
class EventRow:
    event: type[ev.Event]
    stages: frozenset[Stage]  # the stages of a case that take it
    handler: Handler  # the rule that applies it
    permission: Permission  # who may send it, and whose deadlines it meets
    # The API's route, POST /cases/{case_ref}/<path>; None: the event has a route of its own that does more than
    # send it (a minute is filed with its text, which the case never holds: api/routes/minutes.py).
    path: str | None
    summary: str
    description: str

    @property
    def update(self) -> str:
        """The workflow update that carries the event: named as its handler."""
        return self.handler.__name__


# fmt: off
EVENTS: tuple[EventRow, ...] = (
    # screening, referral and record searches
    EventRow(
        ev.ScreeningDecision, NOTIFIED, referral.screen_notification,
        decides("screen a notification", CO_ONLY),
        "screening", "Screen a notification",
        "Stage 1: the co-ordinator decides level 1 (record only) or that a level 2/3 referral is needed; "
        "a referral is then due within 5 working days (003)."
    ),
    EventRow(
        ev.ReferralSubmitted, REFERRABLE, referral.submit_referral,
        decides("submit a referral", AGENCIES, "referring_agency"),
        "referrals", "Submit a referral",
        "Stage 2: a referral to level 2 or 3. A level 3 referral must say what level 2 cannot deliver "
        "(001, 003). Receipt is confirmed to the referring agency; in Scotland the ASP screening falls "
        "due within 24 hours (000). Who may refer depends on the category and the kind of agency, which "
        "the API takes from the MAPPA directory (001, 003; in England and Wales any agency, 002)."
    ),
    EventRow(
        ev.FurtherInformationRequested, REFERRED, referral.request_further_information,
        decides("request further information", CO_ONLY),
        "further-information-requests", "Ask for further information",
        "The referral is incomplete: the referring agency is asked, and the meeting clock waits (001, "
        "003)."
    ),
    EventRow(
        ev.FurtherInformationSupplied, REFERRED, referral.supply_further_information,
        owns("supply further information", AGENCIES, "supplied_by"),
        "further-information", "Supply further information",
        "The referring agency supplies what was missing; the meeting clock runs again."
    ),
    EventRow(
        ev.ReferralDecision, REFERRED, referral.decide_referral,
        decides("decide on a referral", CO_ONLY),
        "referral-decision", "Accept or reject a referral",
        "Accepted: record searches are requested from each named agency (5 working days) and the initial "
        "meeting falls due (level 2: 20 working days, level 3: 5). Rejected: reasons are required (003)."
    ),
    EventRow(
        ev.RecordSearchReturned, SEARCHING, meetings.return_record_search,
        owns("return a record search", AGENCIES, "agency"),
        "record-searches", "Return a record search",
        "An agency's single point of contact returns its record search to the co-ordinator (003)."
    ),
    # safeguarding: ASP (Scotland), adults at risk, child protection
    EventRow(
        ev.AspScreening, SCREENABLE_FOR_ASP, safeguarding.record_asp_screening,
        decides("record the ASP screening", CO_ONLY),
        "asp-screening", "Record the ASP 3-point screening",
        "Scotland: the referral is considered against the Adult Support and Protection 3-point criteria; "
        "if all hold, an AP1 referral is due within 24 hours and before any meeting (000)."
    ),
    EventRow(
        ev.Ap1ReferralMade, ANY_OR_EXITING, safeguarding.record_ap1_referral,
        owns("record an AP1 referral", AGENCIES, (), co_ordinator_names=ASP_CHAIR),
        "ap1-referrals", "Record an AP1 referral",
        "Scotland: the AP1 referral to the adult's locality was made; the ASP chair gets the minutes too."
    ),
    EventRow(
        ev.AspInquiryConcern, ANY, safeguarding.record_asp_inquiry_concern,
        decides("raise an ASP inquiry concern", AGENCIES, "raised_by"),
        "asp-inquiry-concerns", "Raise an ASP inquiry concern",
        "Scotland: an ASP inquiry found a MAPPA case or concern; the information is shared with justice "
        "social work / SOPU the same day (000)."
    ),
    EventRow(
        ev.AspInformationShared, ANY_OR_EXITING, safeguarding.record_asp_information_shared,
        owns("record ASP information shared", AGENCIES),
        "asp-information-shared", "Record ASP information shared",
        "Scotland: name, date of birth, address, needs and risks were shared with justice social work."
    ),
    EventRow(
        ev.AspChairNamed, ANY, asp_side.name_asp_chair,
        decides("name the ASP chair", CO_ONLY),
        "asp-chair", "Name the ASP chair",
        "Scotland: the co-ordinator names the council whose ASP chair gets copies of the minutes while "
        "the case is open to both MAPPA and ASP (000). Only the co-ordinator names it; naming it opens "
        "the ASP side."
    ),
    EventRow(
        ev.AspSideClosed, ANY, asp_side.close_asp_side,
        decides("close the ASP side", CO_ONLY),
        "asp-side-closed", "Close the ASP side",
        "Scotland: the ASP side of the case closed; its chair stops getting (and reading) the minutes."
    ),
    EventRow(
        ev.AdultAtRiskIdentified, ANY, safeguarding.record_adult_at_risk,
        decides("refer an adult at risk", AGENCIES, "identified_by"),
        "adults-at-risk", "Refer an adult at risk (England and Wales)",
        "A specific adult at risk from the subject (or the subject as an adult at risk) is referred into "
        "the council's adult safeguarding (002, 004); the referral is due within 1 working day (a policy "
        "value)."
    ),
    EventRow(
        ev.AdultSafeguardingReferralMade, ANY_OR_EXITING, safeguarding.record_adult_safeguarding_referral,
        owns("record an adult safeguarding referral", AGENCIES, "referred_by"),
        "adult-safeguarding-referrals", "Record an adult safeguarding referral (England and Wales)",
        "The referral of the adult at risk to the council's adult safeguarding was made (002, 004)."
    ),
    EventRow(
        ev.ChildrenAtRisk, ANY, safeguarding.record_children_at_risk,
        decides("report children at risk", AGENCIES, "identified_by"),
        "children-at-risk", "Report children at risk",
        "Specific children are at risk: name each (personal data, encrypted; never in search attributes, "
        "ledger or e-mail); a child protection referral falls due (002)."
    ),
    EventRow(
        ev.ChildProtectionReferralMade, ANY_OR_EXITING, safeguarding.record_child_protection_referral,
        owns("refer to child protection", AGENCIES, "referred_by"),
        "child-protection-referrals", "Record a child protection referral",
        "The referral to child protection for the children at risk was made (002)."
    ),
    # meetings and what follows them
    EventRow(
        ev.MeetingScheduled, MEETING, meeting_schedule.schedule_meeting,
        decides("schedule a meeting", CO_ONLY),
        "meeting-schedules", "Schedule the next meeting",
        "The co-ordinator arranges the initial meeting or the next review for a day still to come and "
        "invites the agencies central to its plan (001, 003), perhaps on a panel day with other cases "
        "(`panel_ref`; POST /panels schedules several at once). Each invited agency is told; sent again, "
        "it moves the meeting and each agency hears of the move. The record searches and the pre-meeting "
        "information fall due before the day set; the meeting's statutory deadline does not move: a day "
        "after it is recorded, and the chair told."
    ),
    EventRow(
        ev.MeetingHeld, MEETING, meetings.record_meeting,
        decides("record a meeting", CHAIR_ONLY, "chair_agency"),
        "meetings", "Record a meeting",
        "The chair records a level 2 or 3 meeting: attendees (each signed the confidentiality statement),"
        " the level decided, the risk management plan and the next review date, at most 12 weeks (level "
        "2) or 6 weeks (level 3) ahead in Scotland, 16 or 8 in England and Wales. Minutes fall due in 5 "
        "working days (001, 003). Store the minute first (POST /cases/{case_ref}/minutes) and give the "
        "`minute_ref` and `minute_digest` it returns: the case history keeps only those, never the "
        "minute."
    ),
    EventRow(
        ev.MinuteFiled, ANY_OR_EXITING, confidentiality.file_minute,
        decides("file a meeting's minute", CHAIR_ONLY),
        None, "File a meeting's minute",
        "The chair of the meeting's chair agency files its minute, by the meeting's id, once: the case keeps "
        "the minute's reference and digest, never its text (001, 003)."
    ),
    EventRow(
        ev.MinutesCirculated, ANY_OR_EXITING, meetings.circulate_minutes,
        decides("circulate minutes", CO_ONLY),
        "minutes-circulations", "Circulate the minutes",
        "The co-ordinator circulates a meeting's minutes, to attending agencies only (and the ASP chair "
        "when the case is open to ASP) (000, 001, 003)."
    ),
    EventRow(
        ev.SwisAlertUpdated, ANY_OR_EXITING, meetings.record_swis_alert_update,
        owns("record a SWIS alert update", AGENCIES),
        "swis-alert-updates", "Record a SWIS alert update",
        "Scotland: the lead professional updated the SWIS alert after the meeting (same day, 000)."
    ),
    EventRow(
        ev.RmpActionCompleted, ANY, meetings.complete_rmp_action,
        owns("complete an RMP action", AGENCIES),
        "rmp-action-completions", "Complete a risk management plan action",
        "An action set at a meeting is done (each action has its own due date, 001, 003)."
    ),
    # active management, risk and level changes
    EventRow(
        ev.RiskChangeReported, ANY, management.report_risk_change,
        decides("report a change in risk", AGENCIES, "reporting_agency"),
        "risk-changes", "Report a change in risk",
        "Any agency reports a change in risk; the co-ordinator triages it (001, 003)."
    ),
    EventRow(
        ev.RiskChangeTriaged, ANY, management.triage_risk_change,
        decides("triage a change in risk", CO_ONLY),
        "risk-change-triage", "Triage a change in risk",
        "The co-ordinator decides: no action, an extra review meeting, a level change, or a referral."
    ),
    EventRow(
        ev.LevelChanged, MANAGED, management.change_level,
        decides("change the level", CO_ONLY),
        "level-changes", "Change the level of management",
        "The co-ordinator moves the case between levels; level 3 needs a statement of what level 2 cannot"
        " deliver. The review is re-armed at the new level's maximum."
    ),
    EventRow(
        ev.Level1PlanRecorded, LEVEL_1, level_1.record_level_1_plan,
        owns("record the level 1 plan", AGENCIES, "recorded_by"),
        "level-1-plans", "Record the level 1 risk management plan",
        "Level 1: the lead agency records its risk management plan (004); due 10 working days after the "
        "case is managed at level 1 (a policy value)."
    ),
    EventRow(
        ev.Level1ReviewRecorded, LEVEL_1, level_1.record_level_1_review,
        owns("record a level 1 review", AGENCIES, "reviewed_by"),
        "level-1-reviews", "Record a level 1 review",
        "Level 1: the lead agency reviews and records the case regularly (004); the next review falls due"
        " 12 weeks (Scotland) or 16 weeks (England and Wales) later (a policy value). Level 1 no longer "
        "defensible: a referral falls due."
    ),
    # exit
    EventRow(
        ev.SupervisionEndNoticeGiven, ANY, exit.give_supervision_end_notice,
        owns("give the supervision end notice", AGENCIES, "given_by"),
        "supervision-end-notices", "Give notice that supervision or licence is ending",
        "Category 2 or 3: the lead agency tells the co-ordinator that the supervision or licence is "
        "ending, so that a review can decide whether MAPPA must continue (003)."
    ),
    EventRow(
        ev.SonrEndNoticeGiven, ANY, exit.give_sonr_end_notice,
        owns("give the SONR end notice", AGENCIES, "given_by"),
        "sonr-end-notices", "Give notice that the SONR is ending",
        "The lead agency tells the co-ordinator that the notification requirements are ending (003)."
    ),
    EventRow(
        ev.ExitDecision, ANY, exit.decide_exit,
        decides("decide exit from MAPPA", CO_ONLY),
        "exit-decisions", "Decide exit from MAPPA",
        "The co-ordinator decides to exit, continue, or record an SHPO extending the SONR (003)."
    ),
    # confidentiality and subject access
    EventRow(
        ev.SubjectInformed, ANY, confidentiality.record_subject_informed,
        owns("record the subject informed", AGENCIES, "informed_by"),
        "subject-informed", "Record whether the subject was told",
        "The subject is normally told of their MAPPA status; if not, the reason is recorded (002). The "
        "lead agency does so within 10 working days of the first meeting (a policy value)."
    ),
    EventRow(
        ev.ConclusionsSharedWithChildProtection, ANY, confidentiality.share_with_child_protection,
        decides("share with child protection", CHAIR_ONLY),
        "child-protection-sharing", "Share conclusions with child protection",
        "The chair shares conclusions and actions (never the minutes) with a child protection conference,"
        " only when no third-party source is revealed (002)."
    ),
    EventRow(
        ev.SubjectAccessRequested, SUBJECT_ACCESS, confidentiality.request_subject_access,
        decides("record a subject access request", CO_ONLY),
        "subject-access-requests", "Record a subject access request for minutes",
        "The subject asks for the minutes: a decision is due in one calendar month, and each agency that "
        "attended the meetings concerned is consulted (001). A case that has exited MAPPA still takes it:"
        " it reopens at stage exiting, its deadlines enforced as before, and closes again once the "
        "request is decided."
    ),
    EventRow(
        ev.SarAgencyView, ANY_OR_EXITING, confidentiality.record_sar_agency_view,
        owns("give a view on a subject access request", AGENCIES, "agency"),
        "subject-access-views", "Give an attending agency's view on a subject access request",
        "An agency consulted on a subject access request says whether the minutes may be disclosed, or "
        "names the exemption it relies on to withhold them."
    ),
    EventRow(
        ev.SarDecided, ANY_OR_EXITING, confidentiality.decide_subject_access,
        decides("decide a subject access request", (Role.CO_ORDINATOR, Role.CHAIR)),
        "subject-access-decisions", "Decide a subject access request",
        "The co-ordinator and chair disclose the minutes or withhold them under a stated data protection "
        "exemption."
    ),
    # the notification of a case opened before it, and dates that move deadlines
    EventRow(
        ev.NotificationSubmitted, AWAITING, pre_notification.submit_notification,
        owns("submit a notification", AGENCIES, "notifying_agency"),
        "notifications", "Submit the notification",
        "Stage 1, for a case opened by a court disposal, an upcoming release or a hospital discharge: the"
        " notification meets the deadline that event started (3 working days from disposal; 12 weeks "
        "before release, 003); a late one may give its extenuating circumstances. Screening then falls "
        "due."
    ),
    EventRow(
        ev.ReleaseDateChanged, ANY, pre_notification.change_release_date,
        decides("record a new release date", AGENCIES, "recorded_by"),
        "release-dates", "Record a new release date",
        "The prison records a changed release date (appeal, parole, recall): the custody notification or "
        "referral and the initial meeting, due before release, move with it (003). For a case recalled to "
        "custody it is the re-release date: the meeting before it falls due and what the recall paused resumes."
    ),
    EventRow(
        ev.RecalledToCustody, RECALLABLE, recall.record_recall,
        decides("record a recall to custody", AGENCIES, "recorded_by"),
        "recalls", "Record a recall to custody",
        "The subject, managed in the community, is recalled to prison. The community reviews and the risk "
        "management plan's actions pause (recorded, with the time each had left); the rest stays owed. The "
        "prison then records the re-release date (POST /cases/{case_ref}/release-dates): a level 2 or 3 case's"
        " meeting falls due before it (003 stage 4, as for a custody case) and what paused is owed again, as "
        "long after the re-release as it had left. The seeds are silent on recall: a policy choice."
    ),
    EventRow(
        ev.DischargeDateChanged, ANY, pre_notification.change_discharge_date,
        decides("record a new discharge date", AGENCIES, "recorded_by"),
        "discharge-dates", "Record a new discharge date",
        "The hospital records a changed discharge date for a restricted patient: the deadlines counted "
        "from it move with it (003)."
    ),
    EventRow(
        ev.EndDateRecorded, ANY, exit.record_end_date,
        decides("record a SONR or licence end date", AGENCIES, "recorded_by"),
        "end-dates", "Record a SONR or licence end date",
        "An agency sets or changes when the notification requirements (SONR), or a category 2 or 3 case's"
        " supervision or licence, end: the lead agency's notice and the review of whether MAPPA must "
        "continue are counted back from the new date (003 stage 5), never due before the day it is "
        "recorded."
    ),
    # information sharing before the initial meeting
    EventRow(
        ev.PreMeetingInformationSent, MEETING,
        information_exchange.send_pre_meeting_information,
        decides("send the pre-meeting information", CO_ONLY),
        "pre-meeting-information", "Send the pre-meeting information",
        "The co-ordinator sends the compiled record search results to every agency attending the initial "
        "meeting (or a scheduled review), in advance of it (003); when the case is open to ASP the ASP "
        "chair's agency is among them (000)."
    ),
    # transfer to another area or jurisdiction (no seed speaks of it: the README's table of choices)
    EventRow(
        te.TransferRequested, ANY, transfer.request_transfer,
        decides("ask another area to take the case", CO_ONLY),
        "transfer-requests", "Ask another area to take the case",
        "The subject moves: the co-ordinator asks the receiving area to take the case over. Its "
        "co-ordinator accepts or declines within 5 working days of its calendar (a policy value)."
    ),
    EventRow(
        te.TransferAccepted, ANY, transfer.accept_transfer,
        decides("accept a transfer of the case", CO_ONLY),
        "transfer-acceptances", "Accept a transfer of the case",
        "The receiving area's co-ordinator takes the case: same reference and record; its lead agency and "
        "who takes over each agency's open deadlines; every open deadline re-based on the receiving "
        "area's calendar and timescales. The sending area keeps read access."
    ),
    EventRow(
        te.TransferDeclined, ANY, transfer.decline_transfer,
        decides("decline a transfer of the case", CO_ONLY),
        "transfer-declines", "Decline a transfer of the case",
        "The receiving area's co-ordinator declines the transfer, with reasons; the case stays where it is."
    ),
)
# fmt: on

EVENT_TABLE: dict[type[ev.Event], EventRow] = {row.event: row for row in EVENTS}


def accepts(stage: Stage) -> list[type[ev.Event]]:
    """The events a case at `stage` takes."""
    return [row.event for row in EVENTS if stage in row.stages]
