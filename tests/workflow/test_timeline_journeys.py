"""Issue 9 part 2, points 1-6, through the workflow on the time-skipping server: deadlines that start before the
case exists remind and breach like any other, dates that move take their deadlines with them, and the exit waits
for what outlives it. Histories are kept under histories/timeline/ for the replay test."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from api.case_service import send_event
from tests.case_builders import SCOTTISH_AGENCIES, SUBJECT, accept, community_notification, meeting, referral
from tests.workflow.conftest import CaseRig
from workflows.case import MappaCaseWorkflow
from workflows.rules import events as ev
from workflows.rules.calendar import Jurisdiction, local_date
from workflows.rules.policy import area_policy

pytestmark = pytest.mark.timeout(120)

LANARKSHIRE = area_policy("lanarkshire").calendar


async def today(rig: CaseRig) -> date:
    return local_date(await rig.now())


def opening(case_ref: str, route: ev.EntryRoute, lead: str, **fact: ev.Event) -> ev.CaseOpening:
    return ev.CaseOpening.model_validate(
        {
            "case_ref": case_ref,
            "area": "lanarkshire",
            "jurisdiction": Jurisdiction.SCOTLAND,
            "category": 1,
            "lead_agency": lead,
            "route": route,
            "subject": SUBJECT,
            **fact,
        }
    )


def weeks_before(day: date, weeks: int) -> date:
    """A deadline counted back in weeks: on a weekend or holiday it falls on the working day before."""
    return area_policy("lanarkshire").calendar.working_day_on_or_before(day - timedelta(weeks=weeks))


async def test_a_notification_not_sent_within_three_working_days_of_disposal_is_reminded_then_breached(
    rig: CaseRig,
):
    ref = "MAPPA-LAN-2026-TIME01"
    day0 = await today(rig)
    disposal = ev.CourtDisposal(recorded_by="police-scotland-lanarkshire", disposal_date=day0)
    handle = await rig.open_case(
        opening(ref, ev.EntryRoute.COMMUNITY, "police-scotland-lanarkshire", disposal=disposal)
    )
    assert (await rig.status(handle)).summary.stage == "awaiting-notification"
    await rig.pass_time(timedelta(days=10))
    late = await rig.deadline(handle, "notification")
    assert late.state == "breached" and late.reminded_at is not None
    assert late.due_date == LANARKSHIRE.add_working_days(day0, 3).due_date
    assert await rig.wait_for_mail(ref, "reminder", "notification")
    assert await rig.wait_for_mail(ref, "BREACHED", "notification")
    await rig.ledger_row(ref, "notification", "breached")
    receipt = await rig.send(handle, ev.NotificationSubmitted(notifying_agency="police-scotland-lanarkshire"))
    assert receipt.stage == "notification"
    met = await rig.deadline(handle, "notification")
    assert met.state == "met" and met.breached_at is not None
    # Point 1: screened two days later, the referral still counts from the notification's submission.
    notified = await today(rig)
    await rig.pass_time(timedelta(days=2))
    await rig.send(handle, ev.ScreeningDecision(outcome="referral-needed", reason="high risk"))
    due = (await rig.deadline(handle, "referral")).due_date
    assert due == LANARKSHIRE.add_working_days(notified, 5).due_date
    await rig.keep_history(handle, "timeline/disposal-notification-late")


async def test_a_disposal_the_police_heard_of_later_is_counted_from_that_day_reminded_then_breached(
    rig: CaseRig,
):
    """003 stage 2: "within three workings days of being notified of a community sentence disposal"."""
    ref = "MAPPA-LAN-2026-TIME07"
    day0 = await today(rig)
    disposal = ev.CourtDisposal(
        recorded_by="police-scotland-lanarkshire",
        disposal_date=day0 - timedelta(days=6),
        disposal_notified_on=day0,
    )
    handle = await rig.open_case(
        opening(ref, ev.EntryRoute.COMMUNITY, "police-scotland-lanarkshire", disposal=disposal)
    )
    due = await rig.deadline(handle, "notification")
    assert due.state == "open" and due.due_date == LANARKSHIRE.add_working_days(day0, 3).due_date
    assert due.reminder_at is not None
    await rig.pass_time(due.reminder_at - await rig.now() + timedelta(hours=1))
    assert await rig.wait_for_mail(ref, "reminder", "notification")
    await rig.pass_time(due.due_at - await rig.now() + timedelta(hours=1))
    assert (await rig.deadline(handle, "notification")).state == "breached"
    assert await rig.wait_for_mail(ref, "BREACHED", "notification")
    await rig.keep_history(handle, "timeline/disposal-notified-later")


async def test_a_custody_case_meets_before_release_and_its_deadlines_move_with_the_release_date(rig: CaseRig):
    ref = "MAPPA-LAN-2026-TIME02"
    day0 = await today(rig)
    release = day0 + timedelta(weeks=20)
    upcoming = ev.UpcomingRelease(recorded_by="sps", release_date=release, icm_held_on=day0)
    handle = await rig.open_case(opening(ref, ev.EntryRoute.CUSTODY, "sps", upcoming_release=upcoming))
    assert (await rig.deadline(handle, "custody-referral")).due_date == weeks_before(release, 12)
    later = release + timedelta(weeks=8)
    await rig.send(handle, ev.ReleaseDateChanged(recorded_by="sps", release_date=later, reason="parole"))
    moved = await rig.deadline(handle, "custody-referral")
    assert moved.due_date == weeks_before(later, 12) and moved.state == "open"
    await rig.send(handle, referral(2, agency="sps"))
    assert (await rig.deadline(handle, "custody-referral")).state == "met"
    await rig.send(handle, accept(2))
    initial = await rig.deadline(handle, "initial-meeting")
    assert initial.kind == "initial-meeting-before-release"
    assert initial.due_date == LANARKSHIRE.subtract_working_days(later, 1)
    # Record searches still fall due 5 working days after the request: the meeting is months away.
    search = await rig.deadline(handle, f"record-search:{SCOTTISH_AGENCIES[0]}")
    assert search.due_date == LANARKSHIRE.add_working_days(await today(rig), 5).due_date
    await rig.keep_history(handle, "timeline/custody-release-moved")


async def test_the_pre_meeting_information_goes_to_every_attending_agency_and_a_level_3_meeting_comes_forward(
    rig: CaseRig,
):
    ref = "MAPPA-LAN-2026-TIME03"
    day0 = await today(rig)
    handle = await rig.open_case(community_notification(ref, disposal_date=day0))
    await rig.send(handle, referral(2))
    await rig.send(handle, accept(2))
    level_2_due = (await rig.deadline(handle, "initial-meeting")).due_date
    await rig.send(
        handle,
        ev.RiskChangeReported(
            reporting_agency="police-scotland-lanarkshire", direction="increased", summary="threats"
        ),
    )
    receipt = await rig.send(
        handle,
        ev.RiskChangeTriaged(
            change_id="risk-change-1",
            outcome="level-change",
            new_level=3,
            level_2_cannot_deliver="surveillance at short notice",
            reason="threats to a named victim",
        ),
    )
    assert receipt.level == 3
    initial = await rig.deadline(handle, "initial-meeting")
    assert initial.kind == "initial-meeting-level-3" and initial.due_date < level_2_due
    pack = await rig.deadline(handle, "pre-meeting-information")
    assert pack.due_date == LANARKSHIRE.subtract_working_days(initial.due_date, 1)
    await rig.send(handle, ev.PreMeetingInformationSent(attending_agencies=SCOTTISH_AGENCIES[:3]))
    mail = await rig.wait_for_mail(ref, "pre-meeting information", count=3)
    assert SUBJECT.name not in "".join(str(m) for m in mail)
    await rig.keep_history(handle, "timeline/level-raised-before-meeting")


async def test_minutes_still_to_circulate_keep_an_exited_case_open_reminded_and_breached_until_sent(
    rig: CaseRig,
):
    ref = "MAPPA-LAN-2026-TIME04"
    day0 = await today(rig)
    handle = await rig.open_case(community_notification(ref, disposal_date=day0))
    await rig.send(handle, referral(2))
    await rig.send(handle, accept(2))
    await rig.send(handle, meeting(day0, day0 + timedelta(weeks=10)))
    await rig.send(handle, ev.SwisAlertUpdated(meeting_id="meeting-1"))  # it too outlives exit (000)
    receipt = await rig.send(handle, ev.ExitDecision(outcome="exit", reason="moved to another jurisdiction"))
    assert receipt.stage == "exiting"
    due = (await rig.deadline(handle, "minutes:meeting-1")).due_at
    await rig.pass_time(due - await rig.now() + timedelta(hours=1))
    minutes = await rig.deadline(handle, "minutes:meeting-1")
    assert minutes.state == "breached" and minutes.reminded_at is not None
    assert await rig.wait_for_mail(ref, "BREACHED", "minutes")
    receipt = await rig.send(
        handle, ev.MinutesCirculated(meeting_id="meeting-1", recipients=SCOTTISH_AGENCIES[:3])
    )
    assert receipt.stage == "exited"
    record = await handle.result()
    assert record.obligations_outstanding == ["minutes:meeting-1"]
    await rig.keep_history(handle, "timeline/exit-with-minutes-outstanding")


async def test_a_restricted_patients_discharge_waits_for_the_nhs_referral_reminded_breached_and_moved(
    rig: CaseRig,
):
    ref = "MAPPA-LAN-2026-TIME05"
    day0 = await today(rig)
    discharge = ev.HospitalDischarge(recorded_by="nhs-lanarkshire", discharge_date=day0 + timedelta(weeks=14))
    handle = await rig.open_case(
        opening(ref, ev.EntryRoute.RESTRICTED_PATIENT, "nhs-lanarkshire", discharge=discharge)
    )
    assert (await rig.status(handle)).summary.stage == "awaiting-notification"
    first = await rig.deadline(handle, "restricted-patient-referral")
    assert first.responsible == "nhs-lanarkshire" and first.due_date == weeks_before(
        day0 + timedelta(weeks=14), 12
    )
    # The tribunal puts the discharge back four days: the NHS referral, twelve weeks before it, moves too.
    later = day0 + timedelta(weeks=14, days=4)
    await rig.send(
        handle,
        ev.DischargeDateChanged(
            recorded_by="nhs-lanarkshire", discharge_date=later, reason="tribunal adjourned"
        ),
    )
    moved = await rig.deadline(handle, "restricted-patient-referral")
    assert moved.due_date == weeks_before(later, 12) and moved.state == "open"
    assert moved.reminded_at is None and moved.reminder_at is not None
    # Time passes in two steps, to just after the reminder and just after the due time: the time-skipping
    # server's clock is shared with every case earlier tests left open, and a long skip wakes them all.
    await rig.pass_time(moved.reminder_at - await rig.now() + timedelta(hours=1))
    reminded = await rig.deadline(handle, "restricted-patient-referral")
    assert reminded.state == "open" and reminded.reminded_at is not None
    assert await rig.wait_for_mail(ref, "reminder", "restricted patient")
    await rig.pass_time(moved.due_at - await rig.now() + timedelta(hours=1))
    late = await rig.deadline(handle, "restricted-patient-referral")
    assert late.state == "breached" and late.breached_at is not None
    assert await rig.wait_for_mail(ref, "BREACHED", "restricted patient")
    row = await rig.ledger_row(ref, "restricted-patient-referral", "breached")
    assert row.due_date == moved.due_date
    receipt = await rig.send(
        handle,
        ev.NotificationSubmitted(
            notifying_agency="nhs-lanarkshire", extenuating_circumstances="the CPA review was postponed"
        ),
    )
    assert receipt.stage == "notification"
    met = await rig.deadline(handle, "restricted-patient-referral")
    assert met.state == "met" and met.breached_at is not None
    assert (await rig.deadline(handle, "screening")).state == "open"
    await rig.keep_history(handle, "timeline/restricted-patient-discharge-moved")


async def test_a_subject_access_request_after_the_case_closed_reopens_it_reminded_and_breached_until_decided(
    rig: CaseRig,
):
    ref = "MAPPA-LAN-2026-TIME06"
    day0 = await today(rig)
    handle = await rig.open_case(community_notification(ref, disposal_date=day0))
    await rig.send(handle, referral(2))
    await rig.send(handle, accept(2))
    await rig.send(handle, meeting(day0, day0 + timedelta(weeks=10)))
    await rig.send(handle, ev.MinutesCirculated(meeting_id="meeting-1", recipients=SCOTTISH_AGENCIES[:3]))
    await rig.send(handle, ev.SwisAlertUpdated(meeting_id="meeting-1"))
    await rig.send(handle, ev.ExitDecision(outcome="exit", reason="moved to another jurisdiction"))
    assert (await handle.result()).reason == "moved to another jurisdiction"
    # The next day the subject asks for the minutes, through the API's service as the route sends it.
    await rig.pass_time(timedelta(days=1))
    request = ev.SubjectAccessRequested(meeting_ids=["meeting-1"])
    receipt = await send_event(rig.client, ref, request, "sar-after-exit", task_queue=rig.task_queue)
    assert receipt.stage == "exiting"
    reopened = rig.client.get_workflow_handle_for(MappaCaseWorkflow.run, ref)
    status = await rig.status(reopened)
    assert status.runs == 2 and (await rig.deadline(reopened, "minutes:meeting-1")).state == "met"
    sar = await rig.deadline(reopened, "sar-1")
    assert sar.state == "open" and sar.reminder_at is not None
    await rig.pass_time(sar.reminder_at - await rig.now() + timedelta(hours=1))
    assert (await rig.deadline(reopened, "sar-1")).reminded_at is not None
    assert await rig.wait_for_mail(ref, "reminder", "subject access")
    await rig.pass_time(sar.due_at - await rig.now() + timedelta(hours=1))
    assert (await rig.deadline(reopened, "sar-1")).state == "breached"
    assert await rig.wait_for_mail(ref, "BREACHED", "subject access")
    await rig.ledger_row(ref, "sar-1", "breached")
    decided = await rig.send(
        reopened,
        ev.SarDecided(sar_id="sar-1", outcome="disclose", reason="nothing to withhold"),
    )
    assert decided.stage == "exited"
    record = await reopened.result()
    assert record is not None and record.reason == "moved to another jurisdiction"
    await rig.keep_history(reopened, "timeline/subject-access-after-exit")
