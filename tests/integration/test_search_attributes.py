"""The Temporal UI as the co-ordinator's case view, on the real dev server: every case carries typed search
attributes, a memo and current details that follow it through its life, and the query the README gives ops
finds exactly the cases it should. No personal data appears in any of them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from tests.case_builders import SUBJECT, asp_criteria_not_met, meeting
from tests.helpers import SmtpSink
from tests.integration.dev_cases import (
    LEVEL_3_STATEMENT,
    DevCases,
    community_notification,
    dev_cases,
    eventually,
    london_today,
    new_case_ref,
)
from workflows import search_attributes as sa
from workflows.rules import events as ev

README = Path(__file__).resolve().parents[2] / "README.md"
# The query ops type into the UI's box for "level 3 cases in Lanarkshire with a breach" (README).
LEVEL_3_LANARKSHIRE_BREACHED = 'CaseLevel = 3 AND Area = "lanarkshire" AND OpenBreaches > 0'
PERSONAL_DATA = (SUBJECT.name, SUBJECT.address, str(SUBJECT.date_of_birth), str(SUBJECT.visor_ref))


async def ui_view(handle: WorkflowHandle[Any, Any]) -> tuple[dict[str, Any], str, str]:
    """What the UI shows for a case: its search attributes, the memo's summary and the current details."""
    description = await handle.describe()
    attributes = {key.name: description.typed_search_attributes.get(key) for key in sa.ALL}
    summary = await description.memo_value("summary", None, type_hint=str)
    assert summary is not None, "no memo yet"
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return attributes, summary, metadata.current_details


async def shows(
    cases: DevCases, handle: WorkflowHandle[Any, Any], **expected: Any
) -> tuple[dict[str, Any], str, str]:
    """Wait until the case's search attributes show `expected`, and its next deadline is the status query's."""

    async def check() -> tuple[dict[str, Any], str, str]:
        view = await ui_view(handle)
        attributes = view[0]
        assert {name: attributes[name] for name in expected} == expected
        summary = (await cases.status(handle)).summary
        assert attributes["NextDeadlineAt"] == summary.next_deadline_at
        assert attributes["NextDeadlineKind"] == summary.next_deadline_kind
        return view

    return await eventually(check, f"{handle.id} shows {expected}")


def assert_no_personal_data(*texts: object) -> None:
    for text in texts:
        for item in PERSONAL_DATA:
            assert item not in str(text), f"{item!r} leaked into {text!r}"


async def test_search_attributes_memo_and_details_follow_a_case_through_its_life(
    dev_server_env: WorkflowEnvironment, tmp_path: Path, smtp_server: SmtpSink
) -> None:
    today = london_today()
    async with dev_cases(dev_server_env, tmp_path, smtp_server) as cases:
        handle = await cases.open(community_notification(new_case_ref("lanarkshire")))
        attributes, summary, details = await shows(
            cases,
            handle,
            CaseStage="notification",
            CaseLevel=0,
            CaseCategory="1",
            Jurisdiction="scotland",
            Area="lanarkshire",
            LeadAgency="police-scotland-lanarkshire",
            # Scotland: every notification is screened against the ASP criteria within 24 hours (000).
            NextDeadlineKind="asp-screening",
            OpenBreaches=0,
        )
        assert isinstance(attributes["NextDeadlineAt"], datetime)
        assert summary == (
            "Category 1 case in lanarkshire (scotland), level -, stage notification; "
            "lead agency police-scotland-lanarkshire"
        )
        assert details.startswith(
            "Stage: notification; level: -\nOpen deadlines:\n- screening against the ASP 3-point criteria"
        )
        assert_no_personal_data(attributes, summary, details)

        await cases.send(
            handle, ev.ScreeningDecision(outcome="referral-needed", reason="joint assessment: high")
        )
        await shows(cases, handle, CaseStage="referral-due", CaseLevel=0, NextDeadlineKind="asp-screening")

        await cases.send(
            handle, ev.ReferralSubmitted(referring_agency="police-scotland-lanarkshire", level_sought=2)
        )
        # Scotland: every referral is screened against the ASP criteria within 24 hours (000).
        await shows(cases, handle, CaseStage="referral", NextDeadlineKind="asp-screening")
        await cases.send(
            handle,
            asp_criteria_not_met(),
        )
        await shows(cases, handle, CaseStage="referral", NextDeadlineKind="referral-decision")

        await cases.send(
            handle,
            ev.ReferralDecision(outcome="accepted", level=2, record_search_agencies=["nhs-lanarkshire"]),
        )
        _, summary, details = await shows(
            cases, handle, CaseStage="information-sharing", CaseLevel=2, NextDeadlineKind="record-search"
        )
        assert "level 2, stage information-sharing" in summary
        assert "- agency record search: due by end of" in details and "(nhs-lanarkshire)" in details
        assert "- initial level 2 meeting: due by end of" in details

        await cases.send(handle, meeting(today, today + timedelta(weeks=8)))
        # The SWIS alert is due the same day as the meeting (000).
        await shows(cases, handle, CaseStage="active-management", CaseLevel=2, NextDeadlineKind="swis-alert")

        await cases.send(
            handle,
            ev.LevelChanged(new_level=3, reason="risk increased", level_2_cannot_deliver=LEVEL_3_STATEMENT),
        )
        attributes, summary, details = await shows(
            cases, handle, CaseStage="active-management", CaseLevel=3, OpenBreaches=0
        )
        assert summary == (
            "Category 1 case in lanarkshire (scotland), level 3, stage active-management; "
            "lead agency police-scotland-lanarkshire"
        )
        # 001: the level 3 meeting within five working days of the raise.
        assert "- level 3 review meeting (MAPPP) after the raise to level 3: due by end of" in details
        assert_no_personal_data(attributes, summary, details)


async def test_timers_and_activities_are_named_for_what_they_are(
    dev_server_env: WorkflowEnvironment, tmp_path: Path, smtp_server: SmtpSink
) -> None:
    async with dev_cases(dev_server_env, tmp_path, smtp_server) as cases:
        handle = await cases.open(community_notification(new_case_ref("lanarkshire")))
        await shows(cases, handle, CaseStage="notification")

        summaries: dict[int, list[str]] = {}
        activities: list[str] = []
        converter = dev_server_env.client.data_converter
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                activities.append(event.activity_task_scheduled_event_attributes.activity_type.name)
            if event.user_metadata.HasField("summary"):
                (text,) = await converter.decode([event.user_metadata.summary], [str])
                summaries.setdefault(event.event_type, []).append(text)

    # The ledger write is named by its activity and carries no summary (each summary is one more payload to
    # encrypt on every replay of a long case, and it said no more than the name).
    assert activities == ["record_in_ledger"]
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in summaries
    # The workflow sleeps until the first reminder: the screening's (09:00 one working day before it is due) or
    # the ASP screening's (4 hours before its 24 hours are up, 000), whichever the day of opening makes sooner.
    (timer,) = summaries[EventType.EVENT_TYPE_TIMER_STARTED]
    assert timer in (
        "reminder: screening of the notification",
        "reminder: screening against the ASP 3-point criteria",
    )


async def test_the_readme_query_for_level_3_cases_in_lanarkshire_with_a_breach_finds_exactly_those(
    dev_server_env: WorkflowEnvironment, tmp_path: Path, smtp_server: SmtpSink
) -> None:
    assert LEVEL_3_LANARKSHIRE_BREACHED in README.read_text(), "the README shows ops this query"
    async with dev_cases(dev_server_env, tmp_path, smtp_server) as cases:
        wanted = await cases.level_3_case_with_breaches("lanarkshire")
        in_glasgow = await cases.level_3_case_with_breaches("glasgow")
        at_level_2 = await cases.level_3_case_with_breaches("lanarkshire", level=2)
        without_breach = await cases.open(community_notification(new_case_ref("lanarkshire")))
        await shows(cases, wanted, CaseLevel=3, Area="lanarkshire", OpenBreaches=2)
        await shows(cases, in_glasgow, CaseLevel=3, Area="glasgow", OpenBreaches=2)
        await shows(cases, at_level_2, CaseLevel=2, Area="lanarkshire", OpenBreaches=2)
        await shows(cases, without_breach, CaseLevel=0, OpenBreaches=0)

        # This test's cases only: the dev server is shared by the whole session.
        query = f'{LEVEL_3_LANARKSHIRE_BREACHED} AND TaskQueue = "{cases.task_queue}"'

        async def found() -> list[str]:
            ids = [execution.id async for execution in dev_server_env.client.list_workflows(query)]
            assert ids == [wanted.id]
            return ids

        await eventually(found, "the README query")

        every_case = [
            execution.id
            async for execution in dev_server_env.client.list_workflows(f'TaskQueue = "{cases.task_queue}"')
        ]
        assert len(every_case) == 4
