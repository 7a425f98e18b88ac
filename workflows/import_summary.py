"""The co-ordinator's one summary of an import: the deadlines already past when its cases were imported, sent as
one notice instead of an escalation per deadline (workflows/rules/imported.py, `import_summary`).

One short workflow per summary, its id made from the notice's key (the area and a digest of what it lists), so a
re-run of the same import sends nothing twice; the notice goes through the same activity and outbox as every
other. Import-light: the sandbox re-imports this module per run.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.messages import ACTIVITY_FOR_NOTICE, Notice, NoticeDelivered, NoticeKind

WORKFLOW_ID_PREFIX = "import-summary-"


def workflow_id(notice: Notice) -> str:
    """The area and the summary's digest: never anything about a person."""
    return WORKFLOW_ID_PREFIX + notice.key.removeprefix("import-summary/").replace("/", "-")


@workflow.defn(name="ImportSummaryWorkflow")
class ImportSummaryWorkflow:
    @workflow.run
    async def run(self, notice: Notice) -> NoticeDelivered:
        return await workflow.execute_activity(
            ACTIVITY_FOR_NOTICE[NoticeKind.IMPORT_SUMMARY],
            notice,
            result_type=NoticeDelivered,
            summary=f"import summary -> {notice.area} co-ordinator",
            start_to_close_timeout=timedelta(seconds=30),
            # Keep trying while the relay is away: the outbox key makes a retry harmless.
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)),
        )
