"""Property-based: random sequences of random events, sent by random senders at random moments, applied to the
case file. Whatever arrives, the core answers with its own refusal or applies it, and after every step:

- a deadline is in exactly one state, and its record agrees (met: when; cancelled: why; breached: since when);
- a met deadline was met after it was opened;
- each breach is escalated once;
- nothing an event sets falls due before the event opened it (unless counted from an earlier day it was told of).

Dates range over everything the event models accept (1900 to 2199), not only what the API's windows let through.
`make test` runs the ci profile; `make test-nightly` many more examples (HYPOTHESIS_PROFILE=nightly).
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from tests.case_builders import SCOTTISH_AGENCIES, community_notification, custody_referral, person
from workflows.rules import events as ev
from workflows.rules.actors import Actor, Role
from workflows.rules.calendar import local_date
from workflows.rules.case import CaseFile
from workflows.rules.deadlines import DeadlineState
from workflows.rules.errors import CaseRuleError
from workflows.rules.policy import DeadlineKind
from workflows.rules.records import NoticeKind
from workflows.rules.working_copy import working_copy

settings.register_profile(
    "ci",
    max_examples=150,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "nightly", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

START = datetime(2026, 11, 4, 10, tzinfo=UTC)
AGENCIES = [*SCOTTISH_AGENCIES, "sps", "north-lanarkshire-council"]

agency = st.sampled_from(AGENCIES)
text = st.sampled_from(["reason", "A Testperson's new address", "x"])
# Mostly near the case's own days, sometimes anywhere the models accept.
near = st.integers(min_value=-120, max_value=400).map(lambda days: START.date() + timedelta(days=days))
anywhere = st.dates(min_value=ev.EARLIEST_DATE, max_value=ev.LATEST_DATE)
day = st.one_of(near, near, near, anywhere)
meeting_id = st.sampled_from(["meeting-1", "meeting-2", "meeting-3"])
action_id = st.sampled_from(["A1", "A2"])
sar_id = st.sampled_from(["sar-1", "sar-2"])
minute_ref = st.one_of(st.none(), st.sampled_from(["MIN-AAAAAAAAAAAA", "MIN-BBBBBBBBBBBB"]))
level_2_or_3 = st.sampled_from([2, 3])
level = st.sampled_from([1, 2, 3])

# Each person present is named (mostly as their agency's representative; sometimes not at all, or twice).
staff = st.sampled_from(["Representative A", "Representative B"])
attendee = agency.flatmap(
    lambda a: st.builds(
        ev.Attendee,
        agency=st.just(a),
        name=st.one_of(st.just(person(a)), st.just(person(a)), staff, st.none()),
        signed_confidentiality_statement=st.booleans(),
        can_commit_resources=st.booleans(),
    )
)
chair_grade = st.one_of(st.none(), st.sampled_from(list(ev.ChairGrade)))
rmp_action = st.builds(
    ev.RmpActionSet, action_id=action_id, description=text, owner_agency=agency, due_date=day
)

EVENTS = st.one_of(
    st.builds(ev.ScreeningDecision, outcome=st.sampled_from(["level-1", "referral-needed"]), reason=text),
    st.builds(
        ev.ReferralSubmitted,
        referring_agency=agency,
        level_sought=level_2_or_3,
        level_2_cannot_deliver=st.one_of(st.none(), text),
        information_complete=st.booleans(),
        referring_agency_kind=st.one_of(
            st.none(), st.sampled_from(["police", "justice-social-work", "health"])
        ),
        police_or_social_work_contacted=st.booleans(),
    ),
    st.builds(ev.FurtherInformationRequested, missing=text),
    st.builds(ev.FurtherInformationSupplied, supplied_by=agency),
    st.builds(
        ev.ReferralDecision,
        outcome=st.sampled_from(["accepted", "rejected"]),
        level=st.one_of(st.none(), level_2_or_3),
        reasons=st.one_of(st.none(), text),
        level_2_cannot_deliver=st.one_of(st.none(), text),
        record_search_agencies=st.lists(agency, max_size=4),
    ),
    st.builds(ev.RecordSearchReturned, agency=agency),
    st.builds(
        ev.AspScreening,
        aged_16_or_over=st.booleans(),
        unable_to_safeguard_own_interests=st.just(True),
        at_risk_of_harm=st.just(True),
        more_vulnerable_than_others=st.booleans(),
    ),
    st.builds(ev.Ap1ReferralMade, locality=text, asp_chair_agency=agency),
    st.builds(ev.AspInquiryConcern, raised_by=agency),
    st.builds(ev.AspInformationShared, shared_with=agency),
    st.builds(
        ev.ChildrenAtRisk,
        # Named (002): at least one child; the old count is only for cases opened before children were named.
        children=st.lists(
            st.builds(ev.ChildAtRisk, name=st.sampled_from(["Child A", "Child B"])), min_size=1, max_size=3
        ),
        identified_by=agency,
    ),
    st.builds(ev.AspChairNamed, asp_chair_agency=agency),
    st.builds(ev.AspSideClosed, reason=text),
    st.builds(ev.AdultAtRiskIdentified, identified_by=agency),
    st.builds(ev.AdultSafeguardingReferralMade, referred_by=agency, local_authority=agency),
    st.builds(ev.NotificationSubmitted, notifying_agency=agency, recommended_level=level_2_or_3),
    st.builds(
        ev.ReleaseDateChanged,
        recorded_by=agency,
        release_date=day,
        reason=st.sampled_from(["appeal", "parole", "recall"]),
    ),
    st.builds(ev.DischargeDateChanged, recorded_by=agency, discharge_date=day, reason=text),
    st.builds(
        ev.RecalledToCustody,
        recorded_by=agency,
        recalled_on=day,
        reason=st.sampled_from(["licence-breach", "further-offence", "other"]),
    ),
    st.builds(ev.PreMeetingInformationSent, attending_agencies=st.lists(agency, min_size=1, max_size=4)),
    st.builds(
        ev.MeetingScheduled,
        scheduled_for=day,
        invited=st.lists(agency, min_size=1, max_size=4),
        panel_ref=st.one_of(st.none(), st.just("PANEL-2026-14")),
    ),
    st.builds(ev.ChildProtectionReferralMade, referred_by=agency),
    st.builds(
        ev.MeetingHeld,
        held_on=day,
        chair_agency=agency,
        chair_name=st.one_of(st.none(), staff, agency.map(person)),
        chair_grade=chair_grade,
        invited=st.lists(agency, max_size=4),
        attendees=st.lists(attendee, min_size=1, max_size=4),
        level_decided=level,
        level_2_cannot_deliver=st.one_of(st.none(), text),
        rmp_actions=st.lists(rmp_action, max_size=2),
        next_review_date=st.one_of(st.none(), day),
        minute_ref=minute_ref,
        minute_digest=st.just("a" * 64),
    ),
    st.builds(
        ev.MinutesCirculated, meeting_id=meeting_id, recipients=st.lists(agency, min_size=1, max_size=4)
    ),
    st.builds(ev.SwisAlertUpdated, meeting_id=meeting_id),
    st.builds(ev.RmpActionCompleted, meeting_id=meeting_id, action_id=action_id),
    st.builds(
        ev.RiskChangeReported,
        reporting_agency=agency,
        direction=st.sampled_from(["increased", "decreased"]),
        summary=text,
    ),
    st.builds(
        ev.RiskChangeTriaged,
        change_id=st.sampled_from(["risk-change-1", "risk-change-2"]),
        outcome=st.sampled_from(["no-action", "extra-review", "level-change", "referral-requested"]),
        new_level=st.one_of(st.none(), level),
        level_2_cannot_deliver=st.one_of(st.none(), text),
        reason=text,
    ),
    st.builds(
        ev.LevelChanged, new_level=level, reason=text, level_2_cannot_deliver=st.one_of(st.none(), text)
    ),
    st.builds(
        ev.EndDateRecorded,
        recorded_by=agency,
        ends=st.sampled_from(["sonr", "supervision-or-licence"]),
        end_date=day,
        reason=text,
    ),
    st.builds(ev.SonrEndNoticeGiven, given_by=agency),
    st.builds(ev.SupervisionEndNoticeGiven, given_by=agency),
    st.builds(ev.Level1PlanRecorded, recorded_by=agency, summary=st.one_of(st.none(), text)),
    st.builds(
        ev.Level1ReviewRecorded,
        reviewed_by=agency,
        level_1_still_defensible=st.booleans(),
        summary=st.one_of(st.none(), text),
    ),
    st.builds(
        ev.ExitDecision,
        outcome=st.sampled_from(["exit", "continue", "shpo-granted"]),
        reason=text,
        new_sonr_end_date=st.one_of(st.none(), day),
        continue_basis=st.one_of(
            st.none(),
            st.sampled_from(
                [
                    "registered-sex-offender",
                    "violent-offender-under-supervision",
                    "other-risk-of-serious-harm",
                    "shpo-application-pending",
                ]
            ),
        ),
    ),
    st.builds(
        ev.SubjectInformed,
        informed=st.booleans(),
        informed_by=st.one_of(st.none(), agency),
        reason=st.one_of(st.none(), text),
    ),
    st.builds(
        ev.ConclusionsSharedWithChildProtection,
        meeting_id=meeting_id,
        conference=text,
        reveals_third_party_source=st.booleans(),
    ),
    st.builds(ev.SubjectAccessRequested, meeting_ids=st.lists(meeting_id, min_size=1, max_size=2)),
    st.builds(
        ev.SarAgencyView,
        sar_id=sar_id,
        agency=agency,
        view=st.sampled_from(["disclose", "withhold"]),
        exemption=st.one_of(st.none(), text),
    ),
    st.builds(
        ev.SarDecided,
        sar_id=sar_id,
        outcome=st.sampled_from(["disclose", "withhold"]),
        exemption=st.one_of(st.none(), text),
        reason=text,
    ),
)
CO_ORDINATOR = Actor(role=Role.CO_ORDINATOR, agency="lanarkshire-justice-social-work")
SENDERS = st.one_of(
    st.none(),  # an event recorded before senders were carried
    st.just(CO_ORDINATOR),  # who may send most events: cases go further with it often
    st.just(CO_ORDINATOR),
    st.builds(Actor, role=st.sampled_from(list(Role)), agency=st.one_of(agency, st.none())),
)
# Minutes until the next event arrives: often soon, sometimes weeks later (deadlines fall due in between).
GAPS = st.one_of(st.integers(0, 60 * 8), st.integers(0, 60 * 24 * 21))
ACCEPTED = st.builds(
    ev.ReferralDecision,
    outcome=st.just("accepted"),
    level=level_2_or_3,
    level_2_cannot_deliver=st.just("24-hour supervision"),
    record_search_agencies=st.lists(agency, min_size=1, max_size=3),
)


def meeting_around(today: date) -> st.SearchStrategy[ev.MeetingHeld]:
    """A meeting dated around the case's today, with a review a few weeks on: what a chair would send (each
    person named, the chair senior enough for any level, the invited agencies present or some absent)."""
    held = st.integers(-10, 1).map(lambda days: today + timedelta(days=days))
    return held.flatmap(
        lambda held_on: st.builds(
            ev.MeetingHeld,
            held_on=st.just(held_on),
            chair_agency=st.just(SCOTTISH_AGENCIES[0]),
            chair_name=st.just(person(SCOTTISH_AGENCIES[0])),
            chair_grade=st.just(ev.ChairGrade.SENIOR_MANAGER),
            invited=st.sampled_from([AGENCIES[:3], AGENCIES[:4]]),
            attendees=st.just(
                [
                    ev.Attendee(
                        agency=a,
                        name=person(a),
                        signed_confidentiality_statement=True,
                        can_commit_resources=True,
                    )
                    for a in AGENCIES[:3]
                ]
            ),
            level_decided=level,
            level_2_cannot_deliver=st.just("24-hour supervision"),
            rmp_actions=st.lists(
                st.builds(
                    ev.RmpActionSet,
                    action_id=action_id,
                    description=text,
                    owner_agency=agency,
                    due_date=st.integers(-3, 60).map(lambda d: held_on + timedelta(days=d)),
                ),
                max_size=2,
                unique_by=lambda a: a.action_id,
            ),
            next_review_date=st.integers(-1, 60).map(lambda d: held_on + timedelta(days=d)),
            minute_ref=minute_ref,
            minute_digest=st.just("a" * 64),
        )
    )


def events_at(today: date) -> st.SearchStrategy[ev.Event]:
    return st.one_of(EVENTS, ACCEPTED, meeting_around(today), meeting_around(today))


OPENINGS = st.sampled_from(["community", "custody", "category 2", "category 3"])


def opened(route: str) -> CaseFile:
    if route == "custody":
        return CaseFile.open(custody_referral(release_date=date(2027, 3, 1)), START)
    if route.startswith("category"):
        # Category 2 or 3, under supervision until next spring: its supervision end notice falls due.
        category = int(route.split()[1])
        opening = community_notification(disposal_date=date(2026, 11, 2), category=category)
        return CaseFile.open(opening.model_copy(update={"supervision_end_date": date(2027, 5, 3)}), START)
    return CaseFile.open(community_notification(disposal_date=date(2026, 11, 2)), START)


SET_AT_THE_EVENT = {DeadlineKind.REVIEW_LEVEL_2, DeadlineKind.REVIEW_LEVEL_3, DeadlineKind.RMP_ACTION}


def check_invariants(case: CaseFile, escalations: Counter[tuple[str, datetime | None]]) -> None:
    for d in case.deadlines.values():
        where = f"{d.deadline_id} ({d.state.value})"
        if d.state is DeadlineState.OPEN:
            assert d.met_at is None and d.cancelled_at is None and d.breached_at is None, where
        elif d.state is DeadlineState.BREACHED:
            assert d.breached_at is not None and d.met_at is None and d.cancelled_at is None, where
            assert escalations[(d.deadline_id, d.due_at)] == 1, f"{where}: escalated once"
        elif d.state is DeadlineState.MET:
            assert d.met_at is not None and d.cancelled_at is None, where
            assert d.met_at >= d.opened_at, f"{where}: met before it was opened"
        elif d.state is DeadlineState.PAUSED:
            assert d.paused_at is not None and d.pause_reason and d.met_at is None, where
        else:
            assert d.cancelled_at is not None and d.cancel_reason and d.met_at is None, where
        # Exempt: a deadline counted from an earlier day the case was told of, or counted back from a day ahead
        # (the SONR notice before its end): those may be late the moment the case learns of them.
        told_late = d.counted_from < local_date(d.opened_at) or case.policy.rule(d.kind).timescale.before
        if d.kind in SET_AT_THE_EVENT or not told_late:
            assert d.due_at >= d.opened_at, f"{where}: due before it was opened"
    assert all(count <= 1 for count in escalations.values()), "a breach escalated more than once"


@given(route=OPENINGS, data=st.data())
def test_whatever_arrives_the_core_refuses_or_applies_and_its_invariants_hold(
    route: str, data: st.DataObject
) -> None:
    case = opened(route)
    now = START
    escalations: Counter[tuple[str, datetime | None]] = Counter()

    def take_notices() -> None:
        for notice in case.take_outbox():
            if notice.kind is NoticeKind.BREACH_ESCALATION:
                escalations[(notice.deadline_id or "", notice.due_at)] += 1

    case.tick(now)
    take_notices()
    for _ in range(data.draw(st.integers(1, 40), label="events")):
        now += timedelta(minutes=data.draw(GAPS, label="minutes later"))
        event = data.draw(events_at(local_date(now)), label="event")
        sender = data.draw(SENDERS, label="sender")
        if isinstance(event, ev.MeetingHeld) and data.draw(st.booleans(), label="sent by its chair"):
            sender = Actor(role=Role.CHAIR, agency=event.chair_agency)
        case.tick(now)  # the workflow wakes for what fell due before the event arrives
        take_notices()
        sent = event.model_copy(update={"sent_by": sender})
        try:
            case.check(sent, now)  # the update's validator: changes nothing
        except CaseRuleError:
            pass
        else:
            case.apply(sent, now)
            case.tick(now)
        take_notices()
        check_invariants(case, escalations)
        if case.stage.value in ("exited", "routed-to-information-sharing-meeting"):
            break


def mutable_parts(value: object) -> list[object]:
    """Every model, list and dict inside `value` (itself included)."""
    if isinstance(value, BaseModel):
        return [value, *(p for v in value.__dict__.values() for p in mutable_parts(v))]
    if isinstance(value, list):
        return [value, *(p for v in value for p in mutable_parts(v))]
    if isinstance(value, dict):
        return [value, *(p for v in value.values() for p in mutable_parts(v))]
    return []


@given(route=OPENINGS, data=st.data())
def test_the_validator_refuses_exactly_what_applying_to_a_copy_refuses_and_changes_nothing(
    route: str, data: st.DataObject
) -> None:
    """The update's validator tries the event on a working copy (no deep copy): it must be exactly as strict as
    applying the event to a deep copy, leave the case file as it was, and share nothing a rule could change."""
    case = opened(route)
    now = START
    for _ in range(data.draw(st.integers(1, 40), label="events")):
        now += timedelta(minutes=data.draw(GAPS, label="minutes later"))
        event = data.draw(events_at(local_date(now)), label="event")
        sent = event.model_copy(update={"sent_by": data.draw(SENDERS, label="sender")})
        case.tick(now)
        case.take_outbox()
        before = case.model_dump()
        copied = working_copy(case)
        assert copied == case and copied.model_dump() == before
        originals = {id(p) for p in mutable_parts(case)}
        assert not any(id(p) in originals for p in mutable_parts(copied)), (
            "the working copy shares a container"
        )
        refusal: str | None = None
        try:
            case.check(sent, now)
        except CaseRuleError as error:
            refusal = error.message
        assert case.model_dump() == before, "the validator changed the case file"
        deep = case.model_copy(deep=True)
        try:
            deep.apply(sent, now)
        except CaseRuleError as error:
            assert refusal == error.message, "applying refused what the validator let through, or differently"
        else:
            assert refusal is None, f"the validator refused what applying accepts: {refusal}"
            case.apply(sent, now)
            assert case.model_dump() == deep.model_dump()
        if case.stage.value in ("exited", "routed-to-information-sharing-meeting"):
            break
