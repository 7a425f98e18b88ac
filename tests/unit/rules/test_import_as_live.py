"""Property-based: a case imported as of any moment of its life owes what the live case owes at that moment.

A random live history (the property test's events and gaps: a notification, its screening, a referral, ASP
screenings, the decision, record searches returned, the pre-meeting information, a meeting and what follows it)
is cut at a random moment. The row an area's old system would export for the case at that moment (its stage,
level and the days things happened, the searches and actions still open) is imported at that moment, and its
open deadlines (kind, responsible, due date) are the live case's. The import writes no rule, so they cannot drift.

`make test` runs the ci profile; `make test-nightly` 2,000 examples (HYPOTHESIS_PROFILE=nightly).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tests.case_builders import SCOTTISH_AGENCIES, community_notification, custody_referral
from tests.unit.rules.test_case_properties import ACCEPTED, GAPS, START, meeting_around
from workflows.rules import events as ev
from workflows.rules.calendar import local_date
from workflows.rules.case import CaseFile
from workflows.rules.errors import CaseRuleError
from workflows.rules.imported_row import ImportedPosition, ImportedRmpAction
from workflows.rules.policy import DeadlineKind
from workflows.rules.records import Stage

AGENCY = st.sampled_from(SCOTTISH_AGENCIES)
NO_CRITERIA = ev.AspScreening(
    aged_16_or_over=False,
    unable_to_safeguard_own_interests=False,
    at_risk_of_harm=False,
    more_vulnerable_than_others=False,
)


def step(stage: Stage) -> st.SearchStrategy[ev.Event]:
    """What a live case at `stage` may receive next, among what an import row can tell."""
    if stage is Stage.NOTIFICATION:
        return st.one_of(
            st.builds(
                ev.ScreeningDecision,
                outcome=st.sampled_from(["level-1", "referral-needed"]),
                reason=st.just("r"),
            ),
            st.builds(ev.ReferralSubmitted, referring_agency=AGENCY, level_sought=st.just(2)),
        )
    if stage is Stage.REFERRAL_DUE:
        return st.builds(
            ev.ReferralSubmitted,
            referring_agency=AGENCY,
            level_sought=st.sampled_from([2, 3]),
            level_2_cannot_deliver=st.just("24-hour supervision"),
        )
    if stage is Stage.REFERRAL:
        return st.one_of(st.just(NO_CRITERIA), ACCEPTED)
    if stage is Stage.INFORMATION_SHARING:
        return st.one_of(
            st.just(NO_CRITERIA),
            st.builds(ev.RecordSearchReturned, agency=st.sampled_from([*SCOTTISH_AGENCIES, "sps"])),
            st.builds(ev.PreMeetingInformationSent, attending_agencies=st.just(SCOTTISH_AGENCIES[:2])),
            st.just("meeting"),  # type: ignore[arg-type]
        )
    if stage is Stage.ACTIVE_MANAGEMENT:
        return st.one_of(
            st.just(NO_CRITERIA),
            st.builds(ev.RecordSearchReturned, agency=AGENCY),
            st.builds(
                ev.RmpActionCompleted,
                meeting_id=st.just("meeting-1"),
                action_id=st.sampled_from(["A1", "A2"]),
            ),
        )
    return st.nothing()


class Told:
    """What the area's old system knows of the case: the days things happened."""

    def __init__(self) -> None:
        self.days: dict[str, date] = {}


def remember(told: Told, event: ev.Event, now: datetime, case: CaseFile) -> None:
    today = local_date(now)
    if isinstance(event, ev.ScreeningDecision):
        told.days["screened_on"] = today
    elif isinstance(event, ev.AspScreening):
        told.days["asp_screened_on"] = today
    elif isinstance(event, ev.ReferralDecision):
        told.days["accepted_on"] = today
    elif isinstance(event, ev.PreMeetingInformationSent):
        told.days["pre_meeting_information_sent_on"] = today
    elif isinstance(event, ev.ReferralSubmitted) and case.stage is Stage.LEVEL_1:
        told.days["screened_on"] = today


def exported_row(case: CaseFile, told: Told) -> ImportedPosition:
    """The row for the live case as it stands: stage, level, the days, what is still open."""
    referral = case.referral
    meeting = case.meetings[-1] if case.meetings else None
    open_ids = {d.deadline_id: d for d in case.open_deadlines()}
    review = next((d for d in case.open_deadlines() if d.deadline_id.startswith("review:")), None)
    return ImportedPosition(
        import_ref="OLD-1",
        stage=case.stage.value,  # type: ignore[arg-type]
        level=case.level,  # type: ignore[arg-type]
        notified_on=local_date(case.notified_at) if case.notified_at else None,
        screened_on=told.days.get("screened_on"),
        referral_received_on=local_date(referral.received_at) if referral else None,
        referring_agency=referral.referring_agency if referral else None,
        level_sought=referral.level_sought if referral else None,  # type: ignore[arg-type]
        level_2_cannot_deliver="24-hour supervision",
        asp_screened_on=told.days.get("asp_screened_on"),
        accepted_on=told.days.get("accepted_on"),
        pre_meeting_information_sent_on=told.days.get("pre_meeting_information_sent_on"),
        last_meeting_on=meeting.held_on if meeting else None,
        chair_agency=meeting.chair_agency if meeting else None,
        next_review_date=review.due_date if review else None,
        rmp_actions=[
            ImportedRmpAction(
                action_id=d.deadline_id.rsplit(":", 1)[1], owner_agency=d.responsible, due_date=d.due_date
            )
            for d in case.open_deadlines()
            if d.kind is DeadlineKind.RMP_ACTION
        ],
        searches_outstanding=[
            d.responsible for d in open_ids.values() if d.kind is DeadlineKind.RECORD_SEARCH
        ],
    )


def owed(case: CaseFile) -> list[tuple[str, str, date]]:
    return sorted((d.kind.value, d.responsible, d.due_date) for d in case.open_deadlines())


def live_opening(route: str) -> ev.CaseOpening:
    if route == "custody":
        # The prison's notification: a custody case at its notification, released in the spring.
        base = custody_referral(release_date=date(2027, 3, 1))
        return base.model_copy(
            update={"referral": None, "notification": ev.Notification(notifying_agency="sps")}
        )
    return community_notification(disposal_date=START.date())


@given(route=st.sampled_from(["community", "custody"]), data=st.data())
def test_a_case_imported_as_of_any_moment_of_its_life_owes_what_the_live_case_owes(
    route: str, data: st.DataObject
) -> None:
    opening = live_opening(route)
    case = CaseFile.open(opening, START)
    told, now = Told(), START
    for _ in range(data.draw(st.integers(0, 12), label="events")):
        now += timedelta(minutes=data.draw(GAPS, label="minutes later"))
        case.tick(now)
        choice = data.draw(step(case.stage), label="event")
        event: ev.Event = (
            # At the level accepted at: a row tells one level, and the searches still open hang on the date
            # of that level's initial meeting.
            data.draw(meeting_around(local_date(now)), label="meeting").model_copy(
                update={"level_decided": case.level}
            )
            if choice == "meeting"
            else choice
        )
        try:
            case.apply(event, now)
        except CaseRuleError:
            continue
        remember(told, event, now, case)
        if isinstance(event, ev.MeetingHeld):
            # What follows a meeting, done at once: the import takes it as done in the old system.
            case.apply(ev.MinutesCirculated(meeting_id="meeting-1", recipients=[event.chair_agency]), now)
            if "swis-alert:meeting-1" in case.deadlines:
                case.apply(ev.SwisAlertUpdated(meeting_id="meeting-1"), now)
            case.apply(ev.SubjectInformed(informed=True, informed_by=case.lead_agency), now)
            break  # the row tells the last meeting only
    cut = now + timedelta(minutes=data.draw(GAPS, label="imported later"))
    case.tick(cut)
    row = exported_row(case, told)
    base = opening.model_copy(update={"notification": None, "referral": None})
    imported = CaseFile.open(base, cut, imported=row)
    assert imported.stage is case.stage and imported.level == case.level
    assert owed(imported) == owed(case)
