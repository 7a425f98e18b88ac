"""OpenAPI links: which value in one answer names the resource of the next request.

Opening a case answers its `case_ref`: every `/cases/{case_ref}/...` route takes it. An event's receipt names the
case again, for its status, deadlines, file and audit trail; a case's status names it for every event. Filing a
minute (for a meeting the case file records) answers its `minute_ref`, for its routes; asking to share a minute
answers the disclosure's id, which the chair decides. The schema documents the links, and schemathesis
follows them in its stateful run (tests/e2e/test_api_schema.py).
"""

from __future__ import annotations

from typing import Any

CASE_PARAMETER = "{case_ref}"
# The operation ids of the case's reads: what a sender looks at after its event.
CASE_READS = ("case_status", "case_deadlines", "case_file", "case_audit_trail")
MINUTE_READS = ("read_minute", "read_executive_summary", "list_disclosures")
FILE_MINUTE = "file_minute"


def _operations(openapi: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """operationId -> (path, operation)."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for path, operations in openapi.get("paths", {}).items():
        for operation in operations.values():
            if isinstance(operation, dict) and "operationId" in operation:
                found[operation["operationId"]] = (path, operation)
    return found


def _link(
    operations: dict[str, tuple[str, dict[str, Any]]],
    source: str,
    status: str,
    target: str,
    parameters: dict[str, str],
    request_body: dict[str, str] | None = None,
) -> None:
    if source not in operations or target not in operations:
        return
    response = operations[source][1].get("responses", {}).get(status)
    if response is None:
        return
    link: dict[str, Any] = {"operationId": target, "parameters": parameters}
    if request_body is not None:
        link["requestBody"] = request_body
    response.setdefault("links", {})[target] = link


def document_links(openapi: dict[str, Any]) -> dict[str, Any]:
    operations = _operations(openapi)
    on_case = [
        op_id for op_id, (path, _) in operations.items() if path.startswith(f"/cases/{CASE_PARAMETER}")
    ]
    reads = [op_id for op_id in on_case if op_id in CASE_READS]
    events = [op_id for op_id in on_case if op_id not in CASE_READS]

    def case_ref(pointer: str) -> dict[str, str]:
        return {"path.case_ref": f"$response.body#{pointer}"}

    for target in on_case:
        _link(operations, "open_case", "201", target, case_ref("/case_ref"))
        _link(operations, "case_status", "200", target, case_ref("/summary/case_ref"))
    for event in events:
        status = "201" if event == FILE_MINUTE else "200"
        for read in reads:
            _link(operations, event, status, read, case_ref("/case_ref"))

    minute_ref = {"path.minute_ref": "$response.body#/minute_ref"}
    for read in (*MINUTE_READS, "request_disclosure"):
        _link(operations, FILE_MINUTE, "201", read, minute_ref)
    _link(
        operations,
        "request_disclosure",
        "201",
        "decide_disclosure",
        {"path.disclosure_id": "$response.body#/disclosure_id"},
    )
    for read in MINUTE_READS:
        _link(operations, "request_disclosure", "201", read, minute_ref)
        _link(operations, "decide_disclosure", "200", read, minute_ref)
    return openapi
