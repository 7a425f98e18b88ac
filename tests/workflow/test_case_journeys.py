"""Whole cases on the time-skipping test server: the statutory journey, the reminders and escalations that reach
a real SMTP server, and the breach records in the ledger.

Dates depend on the day the suite runs, so expected due dates are counted with the working-day calendar of
the case's jurisdiction (itself pinned to fixed dates in tests/unit/test_calendar.py).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from store.directory import role_holder
from store.models import DirectoryRole
from tests.case_builders import (
    ENGLISH_AGENCIES,
    SCOTTISH_AGENCIES,
    accept,
    asp_criteria_met,
    community_notification,
    custody_referral,
    meeting,
    referral,
)
from tests.workflow.conftest import CaseRig
from workflows.rules import events as ev
from workflows.rules.calendar import local_date
from workflows.rules.case import Stage
from workflows.rules.deadlines import next_re_escalation
from workflows.rules.policy import area_policy

pytestmark = pytest.mark.timeout(120)

LANARKSHIRE = area_policy("lanarkshire").calendar
WILTSHIRE = area_policy("wiltshire-and-swindon").calendar


async def today(rig: CaseRig) -> date:
    return local_date(await rig.now())


async def refused(rig: CaseRig, handle, event: ev.Event) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await rig.send(handle, event)
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def test_scotland_level_2_community_case_from_notification_to_review(rig: CaseRig):
    ref = "MAPPA-LAN-2026-JRNY01"
    day0 = await today(rig)
    handle = await rig.open_case(community_notification(ref, disposal_date=day0))
    notification = await rig.deadline(handle, "notification")
    assert (
        notification.state == "met"
        and notification.due_date == LANARKSHIRE.add_working_days(day0, 3).due_date
    )

    await rig.send(
        handle, ev.ScreeningDecision(outcome="referral-needed", reason="joint assessment: high risk")
    )
    await rig.send(handle, referral(2))
    referral_day = await today(rig)
    receipt = await rig.send(handle, accept(2))
    assert receipt.stage is Stage.INFORMATION_SHARING

    initial = await rig.deadline(handle, "initial-meeting")
    assert initial.due_date == LANARKSHIRE.add_working_days(referral_day, 20).due_date
    assert initial.kind == "initial-meeting-level-2"
    searches = [d for d in (await rig.status(handle)).deadlines if d.kind == "record-search"]
    assert {d.responsible for d in searches} == set(SCOTTISH_AGENCIES)
    assert {d.due_date for d in searches} == {LANARKSHIRE.add_working_days(referral_day, 5).due_date}

    assert len(await rig.wait_for_mail(ref, "record search requested", count=4)) == 4
    assert len(await rig.wait_for_mail(ref, "referral received")) == 1

    for agency in SCOTTISH_AGENCIES[:3]:
        await rig.send(handle, ev.RecordSearchReturned(agency=agency))
    # The housing search is never returned: reminded, then breached and escalated to the co-ordinator.
    housing = await rig.deadline(handle, "record-search:lanarkshire-housing")
    await rig.pass_time(housing.due_at - await rig.now() + timedelta(hours=1))
    late = await rig.deadline(handle, "record-search:lanarkshire-housing")
    assert late.state == "breached" and late.reminded_at is not None
    assert await rig.wait_for_mail(ref, "reminder", "record search")
    breach_mail = await rig.wait_for_mail(ref, "BREACHED", "record search")
    # To the co-ordinator, as the directory stood when the breach was raised (an acting co-ordinator covers
    # the holidays in the directory the tests load).
    assert late.breached_at is not None
    with Session(rig.engine) as session:
        holder = role_holder(session, "lanarkshire", DirectoryRole.CO_ORDINATOR, local_date(late.breached_at))
    assert holder is not None and holder.email in str(breach_mail[0]["To"])
    await rig.ledger_row(ref, "record-search:lanarkshire-housing", "breached")
    await rig.ledger_row(ref, "record-search:police-scotland-lanarkshire", "met")
    assert [e.deadline_id for e in rig.escalations(ref) if e.kind == "breach-escalation"].count(
        "record-search:lanarkshire-housing"
    ) == 1

    await rig.send(handle, ev.RecordSearchReturned(agency="lanarkshire-housing"))
    returned = await rig.deadline(handle, "record-search:lanarkshire-housing")
    assert returned.state == "met" and returned.breached_at is not None  # met late: stays a breach on record

    held = await today(rig)
    review = held + timedelta(weeks=12)
    await rig.send(handle, meeting(held, review))
    status = await rig.status(handle)
    assert status.summary.stage is Stage.ACTIVE_MANAGEMENT
    by_id = {d.deadline_id: d for d in status.deadlines}
    assert by_id["initial-meeting"].state == "met"
    assert by_id["minutes:meeting-1"].due_date == LANARKSHIRE.add_working_days(held, 5).due_date
    assert by_id["swis-alert:meeting-1"].due_date == held
    assert by_id["review:meeting-1"].due_date == review
    await rig.send(handle, ev.MinutesCirculated(meeting_id="meeting-1", recipients=SCOTTISH_AGENCIES[:3]))
    await rig.send(handle, ev.SwisAlertUpdated(meeting_id="meeting-1"))

    # The review comes round: a reminder ten working days before, then the review meeting itself.
    await rig.pass_time(timedelta(weeks=11))
    assert await rig.wait_for_mail(ref, "reminder", "level 2 review")
    review_day = await today(rig)
    await rig.send(handle, meeting(review_day, review_day + timedelta(weeks=12)))
    status = await rig.status(handle)
    by_id = {d.deadline_id: d for d in status.deadlines}
    assert by_id["review:meeting-1"].state == "met" and by_id["review:meeting-1"].breached_at is None
    assert by_id["review:meeting-2"].state == "open"
    await rig.ledger_row(ref, "review:meeting-1", "met")
    await rig.keep_history(handle, "scotland-level-2-to-review")


async def test_level_3_case_reviews_within_six_weeks_and_a_missed_review_is_escalated_then_re_escalated(
    rig: CaseRig,
):
    ref = "MAPPA-LAN-2026-JRNY02"
    handle = await rig.open_case(
        community_notification(ref, disposal_date=await today(rig), recommended_level=3)
    )
    await rig.send(handle, ev.ScreeningDecision(outcome="referral-needed", reason="very high risk"))
    await rig.send(handle, referral(3))
    referral_day = await today(rig)
    await rig.send(handle, accept(3))
    initial = await rig.deadline(handle, "initial-meeting")
    assert initial.kind == "initial-meeting-level-3"
    assert initial.due_date == LANARKSHIRE.add_working_days(referral_day, 5).due_date

    held = await today(rig)
    too_late = await refused(rig, handle, meeting(held, held + timedelta(weeks=6, days=1), level=3))
    assert too_late.type == "RuleViolation" and "6 weeks" in str(too_late.message)
    await rig.send(handle, meeting(held, held + timedelta(weeks=6), level=3))

    # Nobody holds the review, the co-ordinator's own deadline: breached at the end of its day and escalated to
    # the chair (not back to the co-ordinator), then again to the chair of the meeting that set it.
    review = await rig.deadline(handle, "review:meeting-1")
    await rig.pass_time(review.due_at - await rig.now() + timedelta(hours=1))
    review = await rig.deadline(handle, "review:meeting-1")
    assert review.state == "breached" and review.escalations == 1 and review.last_escalated_at is not None
    # Still breached two working days later (a holiday between counts as none): escalated again.
    again = next_re_escalation(area_policy("lanarkshire"), review.last_escalated_at)
    await rig.pass_time(again - await rig.now() + timedelta(hours=1))
    review = await rig.deadline(handle, "review:meeting-1")
    assert review.state == "breached" and review.escalations >= 2
    breach_mail = await rig.wait_for_mail(ref, "BREACHED", "level 3 review")
    assert "chair" in str(breach_mail[0]["To"]) and "coordinator" not in str(breach_mail[0]["To"])
    chair_mail = await rig.wait_for_mail(ref, "still breached", "level 3 review")
    assert "police-scotland" in str(chair_mail[0]["To"])  # the meeting's chair agency, for the chair
    assert "chair of meeting-1" in " ".join(chair_mail[0].get_payload(decode=True).decode().split())
    kinds = [e.kind for e in rig.escalations(ref) if e.deadline_id == "review:meeting-1"]
    assert kinds[0] == "breach-escalation" and "re-escalation" in kinds
    await rig.keep_history(handle, "level-3-missed-review")


async def test_england_and_wales_level_2_case_allows_a_sixteen_week_review_and_no_scottish_links(
    rig: CaseRig,
):
    ref = "MAPPA-WAS-2026-JRNY03"
    opening = community_notification(
        ref, area="wiltshire-and-swindon", disposal_date=await today(rig), lead_agency="wiltshire-police"
    )
    handle = await rig.open_case(opening)
    await rig.send(handle, ev.ScreeningDecision(outcome="referral-needed", reason="high risk"))
    await rig.send(handle, referral(2, agency="wiltshire-police"))
    referral_day = await today(rig)
    await rig.send(handle, accept(2, ENGLISH_AGENCIES))
    initial = await rig.deadline(handle, "initial-meeting")
    assert initial.due_date == WILTSHIRE.add_working_days(referral_day, 20).due_date
    asp = await refused(rig, handle, ev.AspInquiryConcern(raised_by="wiltshire-council"))
    assert "does not apply in England and Wales" in str(asp.message)

    held = await today(rig)
    await rig.send(handle, meeting(held, held + timedelta(weeks=16), attendees=ENGLISH_AGENCIES[:3]))
    ids = {d.deadline_id for d in (await rig.status(handle)).deadlines}
    assert "review:meeting-1" in ids and "swis-alert:meeting-1" not in ids and "asp-screening" not in ids
    await rig.keep_history(handle, "england-level-2")


async def test_custody_case_meets_before_release_and_a_late_prison_referral_is_on_record(rig: CaseRig):
    ref = "MAPPA-LAN-2026-JRNY04"
    release = await today(rig) + timedelta(days=21)
    handle = await rig.open_case(custody_referral(ref, release_date=release))
    custody = await rig.deadline(handle, "custody-referral")
    # Twelve weeks before release, or the working day before if that is a weekend or holiday.
    assert custody.due_date == LANARKSHIRE.working_day_on_or_before(release - timedelta(weeks=12))
    assert custody.state == "met" and custody.breached_at is not None  # less than 12 weeks before release
    await rig.send(handle, accept(2))
    initial = await rig.deadline(handle, "initial-meeting")
    # Before release (the working day before it), sooner than 20 working days.
    assert initial.due_date == LANARKSHIRE.subtract_working_days(release, 1)
    assert (await rig.ledger_row(ref, "custody-referral", "met")).met_late
    await rig.keep_history(handle, "custody")


async def test_a_rejected_referral_goes_back_with_its_reasons(rig: CaseRig):
    ref = "MAPPA-LAN-2026-JRNY05"
    handle = await rig.open_case(community_notification(ref, disposal_date=await today(rig)))
    await rig.send(handle, referral(2, agency="lanarkshire-justice-social-work"))
    no_reasons = await refused(rig, handle, ev.ReferralDecision(outcome="rejected"))
    assert no_reasons.type == "RuleViolation" and "reasons" in str(no_reasons.message)
    receipt = await rig.send(
        handle, ev.ReferralDecision(outcome="rejected", reasons="level 1 management meets the risk")
    )
    assert receipt.stage is Stage.LEVEL_1
    decision = await rig.wait_for_mail(ref, "not accepted")
    # The reasons are an agency's own words: the e-mail points to the case file instead of quoting them.
    body = " ".join(decision[0].get_payload(decode=True).decode().split())
    assert "level 1 management meets the risk" not in body
    assert "read them in the case file" in body
    assert "justice-social-work" in str(decision[0]["To"]) or "jsw" in str(decision[0]["To"]).lower()
    await rig.keep_history(handle, "rejected-referral")


async def test_asp_case_needs_an_ap1_within_24_hours_and_minutes_for_both_chairs(rig: CaseRig):
    ref = "MAPPA-LAN-2026-JRNY06"
    handle = await rig.open_case(community_notification(ref, disposal_date=await today(rig)))
    await rig.send(handle, referral(2))
    await rig.send(
        handle,
        asp_criteria_met(),
    )
    ap1 = await rig.deadline(handle, "ap1-referral")
    assert ap1.due_at - ap1.opened_at <= timedelta(hours=24)
    await rig.pass_time(timedelta(hours=25))
    assert (await rig.deadline(handle, "ap1-referral")).state == "breached"
    assert await rig.wait_for_mail(ref, "BREACHED", "AP1")
    await rig.send(handle, ev.Ap1ReferralMade(locality="Hamilton"))
    # The co-ordinator names the ASP chair (issue 10 finding 1): never the agency making the AP1.
    await rig.send(handle, ev.AspChairNamed(asp_chair_agency="south-lanarkshire-council"))
    await rig.send(handle, accept(2))
    held = await today(rig)
    await rig.send(handle, meeting(held, held + timedelta(weeks=8)))
    one_chair = await refused(
        rig, handle, ev.MinutesCirculated(meeting_id="meeting-1", recipients=SCOTTISH_AGENCIES[:3])
    )
    assert "ASP chair" in str(one_chair.message)
    await rig.send(
        handle,
        ev.MinutesCirculated(
            meeting_id="meeting-1", recipients=[*SCOTTISH_AGENCIES[:3], "south-lanarkshire-council"]
        ),
    )
    assert (await rig.ledger_row(ref, "ap1-referral", "met")).met_late
    await rig.keep_history(handle, "asp-case")


async def test_a_risk_change_that_escalates_to_level_3_brings_a_mappp_within_five_working_days_reminded_then_breached(
    rig: CaseRig,
):
    """001: "an initial MAPPP to be held within five working days"; a managed case raised to level 3 meets as
    soon, with a reminder and, when it is missed, a breach escalated to the chair (the co-ordinator's own)."""
    ref = "MAPPA-LAN-2026-JRNY07"
    handle = await rig.open_case(community_notification(ref, disposal_date=await today(rig)))
    await rig.send(handle, referral(2))
    await rig.send(handle, accept(2))
    held = await today(rig)
    await rig.send(handle, meeting(held, held + timedelta(weeks=12)))
    await rig.pass_time(timedelta(days=14))
    await rig.send(
        handle,
        ev.RiskChangeReported(
            reporting_agency="police-scotland-lanarkshire", direction="increased", summary="licence breach"
        ),
    )
    changed_on = await today(rig)
    await rig.send(
        handle,
        ev.RiskChangeTriaged(
            change_id="risk-change-1",
            outcome="level-change",
            new_level=3,
            reason="risk now very high",
            level_2_cannot_deliver="police resources at short notice",
        ),
    )
    status = await rig.status(handle)
    assert status.summary.level == 3
    mappp = next(d for d in status.deadlines if d.kind == "review-level-3" and d.state == "open")
    assert mappp.due_date == LANARKSHIRE.add_working_days(changed_on, 5).due_date
    assert next(d for d in status.deadlines if d.deadline_id == "review:meeting-1").state == "cancelled"
    await rig.pass_time(mappp.due_at - await rig.now() + timedelta(hours=1))
    missed = await rig.deadline(handle, mappp.deadline_id)
    assert missed.state == "breached" and missed.reminded_at is not None
    assert await rig.wait_for_mail(ref, "reminder", "level 3")
    assert await rig.wait_for_mail(ref, "BREACHED", "level 3")
    await rig.keep_history(handle, "risk-change-to-level-3-mappp")


async def test_a_case_exits_at_the_end_of_its_notification_requirements(rig: CaseRig):
    ref = "MAPPA-LAN-2026-JRNY08"
    sonr_end = await today(rig) + timedelta(weeks=10)
    handle = await rig.open_case(
        community_notification(ref, disposal_date=await today(rig), sonr_end_date=sonr_end)
    )
    await rig.send(handle, ev.ScreeningDecision(outcome="level-1", reason="RSO, ordinary agency management"))
    notice = await rig.deadline(handle, "sonr-exit-notice")
    # 8 weeks before the SONR end, or the working day before when that day is not a working day.
    assert notice.due_date == LANARKSHIRE.working_day_on_or_before(sonr_end - timedelta(weeks=8))
    await rig.pass_time(timedelta(weeks=1))
    await rig.send(handle, ev.SonrEndNoticeGiven(given_by="police-scotland-lanarkshire"))
    await rig.send(handle, ev.ExitDecision(outcome="exit", reason="SONR ends; no SHPO sought"))
    record = await handle.result()
    assert record is not None and record.reason == "SONR ends; no SHPO sought"
    await rig.ledger_row(ref, "exit-review", "met")
    await rig.keep_history(handle, "exit-at-sonr-end")


async def test_refused_events_name_the_rule_and_record_nothing(rig: CaseRig):
    ref = "MAPPA-LAN-2026-REFUSE"
    handle = await rig.open_case(community_notification(ref, disposal_date=await today(rig)))
    before = await rig.status(handle)

    wrong_stage = await refused(rig, handle, meeting(await today(rig), await today(rig) + timedelta(weeks=4)))
    assert wrong_stage.type == "WrongStage" and "stage 'notification'" in str(wrong_stage.message)
    no_statement = await refused(rig, handle, ev.ReferralSubmitted(referring_agency="sps", level_sought=3))
    assert no_statement.type == "RuleViolation"
    assert no_statement.details[0]["field"] == "level_2_cannot_deliver"

    after = await rig.status(handle)
    assert after == before
    history = await handle.fetch_history()
    accepted = [
        e for e in history.events if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert accepted == []


async def test_a_repeated_idempotency_key_returns_the_first_answer_with_no_second_effect(rig: CaseRig):
    ref = "MAPPA-LAN-2026-IDEMP1"
    handle = await rig.open_case(community_notification(ref, disposal_date=await today(rig)))
    first = await rig.send(handle, referral(2), key="police:ref-1")
    again = await rig.send(handle, referral(2), key="police:ref-1")
    assert again.changes == first.changes
    assert len(await rig.wait_for_mail(ref, "referral received")) == 1
    await rig.send(handle, accept(2), key="coordinator:accept-1")  # later work still flows
    await rig.wait_for_mail(ref, "record search requested", count=4)
    assert len(rig.mail_for(ref, "referral received")) == 1  # the repeat sent nothing


async def test_a_case_for_someone_who_is_not_an_offender_is_routed_and_closes(rig: CaseRig):
    ref = "MAPPA-LAN-2026-NONOFF"
    handle = await rig.open_case(
        community_notification(ref, disposal_date=await today(rig), subject_is_offender=False)
    )
    try:
        record = await handle.result()
    except WorkflowFailureError as failure:  # pragma: no cover - a failure is the bug being tested for
        raise AssertionError(failure) from failure
    assert record is None
    assert await rig.wait_for_mail(ref, "information sharing meeting")


async def test_a_level_3_meeting_held_on_its_due_day_and_recorded_the_next_morning_was_held_in_time(
    rig: CaseRig,
):
    ref = "MAPPA-LAN-2026-JRNY10"
    handle = await rig.open_case(
        community_notification(ref, disposal_date=await today(rig), recommended_level=3)
    )
    await rig.send(handle, ev.ScreeningDecision(outcome="referral-needed", reason="very high risk"))
    await rig.send(handle, referral(3))
    await rig.send(handle, accept(3))
    initial = await rig.deadline(handle, "initial-meeting")
    # Nobody records the meeting on its day: at midnight the clock marks it missed and escalates it.
    await rig.pass_time(initial.due_at - await rig.now() + timedelta(hours=9))
    assert (await rig.deadline(handle, "initial-meeting")).state == "breached"
    await rig.ledger_row(ref, "initial-meeting", "breached")
    # The next morning the co-ordinator records it: it was held on its due day (003 stage 4).
    recorded_on = await today(rig)
    held = initial.due_date
    await rig.send(handle, meeting(held, held + timedelta(weeks=6), level=3))
    met = await rig.deadline(handle, "initial-meeting")
    assert met.state == "met" and met.breached_at is None
    row = await rig.ledger_row(ref, "initial-meeting", "met")
    assert not row.met_late
    # 000: the SWIS alert counts from the recording, so it does not open already missed.
    swis = await rig.deadline(handle, "swis-alert:meeting-1")
    assert swis.state == "open" and swis.due_date == recorded_on
