"""What the workflow sandbox builds afresh for every run of a case: each cold case (a worker restart, a cache
eviction) pays it in CPU, and each cached case keeps it in memory."""

from __future__ import annotations

import sys

import pytest
import temporalio.converter
import temporalio.workflow
from temporalio.api.common.v1.message_pb2 import Payloads
from temporalio.api.failure.v1.message_pb2 import Failure
from temporalio.worker._workflow_instance import WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox._runner import _fake_info

from worker.assembly import sandbox_runner
from workflows.case import MappaCaseWorkflow

OURS_AND_HEAVY = {"workflows", "core", "pydantic", "pydantic_core", "holidays", "dateutil"}


@pytest.mark.parametrize(
    ("strict", "re_imported_per_run"),
    [
        # The worker: nothing of ours nor the heavy libraries is executed again for a run.
        (False, set()),
        # The workflow tests' sandbox: the workflow's own module (so a non-deterministic call in it fails
        # loudly) and its package; everything else it imports is shared.
        (True, {"workflows", "workflows.case"}),
    ],
    ids=["worker", "workflow-tests"],
)
async def test_a_run_of_a_case_re_imports_nothing_heavy_and_in_the_worker_nothing_of_ours(
    strict: bool, re_imported_per_run: set[str]
):
    runner = sandbox_runner(strict=strict)
    # What the worker does for each new run (the SDK's own validation uses the same details); its private
    # names are the only way to see the per-run module set.
    instance = runner.create_instance(
        WorkflowInstanceDetails(
            payload_converter_factory=temporalio.converter.DataConverter.default._new_payload_converter,
            failure_converter_class=temporalio.converter.DataConverter.default.failure_converter_class,
            interceptor_classes=[],
            defn=temporalio.workflow._Definition.must_from_class(MappaCaseWorkflow),
            info=_fake_info,
            randomness_seed=-1,
            extern_functions={},
            disable_eager_activity_execution=False,
            worker_level_failure_exception_types=[],
            patch_activation_callback=None,
            last_completion_result=Payloads(),
            last_failure=Failure(),
        )
    )
    modules = instance.importer.new_modules  # type: ignore[attr-defined]
    # The standard library's restricted modules (datetime, asyncio) are proxies, not code run again.
    fresh = {
        name
        for name, module in modules.items()
        if sys.modules.get(name) is not module and name.split(".")[0] in OURS_AND_HEAVY
    }
    assert fresh == re_imported_per_run
    # Imported for the run, and the worker's own module object, not a copy.
    shared = "workflows.rules.case" if strict else "workflows.case"
    assert modules[shared] is sys.modules[shared]
