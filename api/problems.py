"""Every error the API gives is an RFC 9457 problem document (`application/problem+json`).

Besides the standard members (type, title, status, detail) a problem names the statutory `rule` and the
request `field` at fault where they are known, so a co-ordinator's screen can point at what to correct.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from workflows.rules.errors import CaseRuleError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# Problem types are names, not pages: RFC 9457 allows a URI that is not meant to be dereferenced.
TYPE_PREFIX = "urn:mappa:problem:"


class FieldError(BaseModel):
    field: str = Field(description="Where the value is, dotted: 'referral.level_2_cannot_deliver', 'area'.")
    location: str = Field(description="body, path, query or header")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(examples=[f"{TYPE_PREFIX}wrong-stage"])
    title: str
    status: int
    detail: str | None = None
    rule: str | None = Field(default=None, description="The statutory or case rule that refused the request.")
    field: str | None = Field(default=None, description="The request field at fault, dotted.")
    errors: list[FieldError] | None = Field(
        default=None, description="Every invalid field (validation only)."
    )


class ProblemError(Exception):
    """Raise anywhere under a route to answer with a problem document."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str | None = None,
        *,
        rule: str | None = None,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.problem = Problem(
            type=TYPE_PREFIX + kind, title=title, status=status, detail=detail, rule=rule, field=field
        )
        self.headers = headers or {}


def unauthenticated(detail: str, *, invalid_token: bool) -> ProblemError:
    challenge = 'Bearer realm="mappa"' + (', error="invalid_token"' if invalid_token else "")
    return ProblemError(
        401, "unauthenticated", "Authentication required", detail, headers={"WWW-Authenticate": challenge}
    )


def forbidden(detail: str, *, rule: str, field: str | None = None) -> ProblemError:
    return ProblemError(403, "forbidden", "Not allowed", detail, rule=rule, field=field)


def case_not_found(case_ref: str) -> ProblemError:
    return ProblemError(404, "case-not-found", "No such case", f"there is no MAPPA case {case_ref}")


def case_exited(case_ref: str) -> ProblemError:
    return ProblemError(
        409,
        "case-exited",
        "The case has exited MAPPA",
        f"{case_ref}: the case has exited MAPPA and takes no more events",
        rule="exit",
    )


def wrong_stage(detail: str, *, rule: str | None, field: str | None) -> ProblemError:
    return ProblemError(409, "wrong-stage", "Not at this stage of the case", detail, rule=rule, field=field)


def already_recorded(detail: str, *, rule: str | None, field: str | None) -> ProblemError:
    return ProblemError(409, "already-recorded", "Already recorded", detail, rule=rule, field=field)


def rule_violation(detail: str, *, rule: str | None, field: str | None) -> ProblemError:
    return ProblemError(422, "rule-violation", "A case rule is not met", detail, rule=rule, field=field)


def case_rule_refused(kind: str, detail: str, *, rule: str | None, field: str | None) -> ProblemError:
    """The core's refusal (a `CaseRuleError` of this `kind`, met here or inside the case) as the API answers it:
    the one place a refusal's kind becomes a status."""
    if kind == "wrong-stage":
        return wrong_stage(detail, rule=rule, field=field)
    if kind == "not-responsible":
        return forbidden(detail, rule=rule or "deadline owner", field=field)
    if kind == "already-recorded":
        return already_recorded(detail, rule=rule, field=field)
    return rule_violation(detail, rule=rule, field=field)


def refused_by_core(error: CaseRuleError) -> ProblemError:
    return case_rule_refused(error.kind, error.message, rule=error.rule, field=error.field)


def invalid_parameter(field: str, detail: str) -> ProblemError:
    return ProblemError(422, "invalid-request", "The request is not valid", detail, field=field)


def not_found(kind: str, title: str, detail: str) -> ProblemError:
    return ProblemError(404, kind, title, detail)


def audit_unavailable() -> ProblemError:
    """The audit trail could not be written: the access it would have recorded is refused."""
    return ProblemError(
        503,
        "audit-unavailable",
        "The audit trail is unavailable",
        "this access could not be recorded in the audit trail, so nothing was read or changed; try again "
        "shortly",
        headers={"Retry-After": "5"},
    )


def temporal_unavailable(detail: str) -> ProblemError:
    return ProblemError(
        503,
        "temporal-unavailable",
        "The case service is unavailable",
        f"{detail}; nothing was recorded, try again shortly",
        headers={"Retry-After": "5"},
    )


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=problem.status,
        headers=headers,
        media_type=PROBLEM_JSON,
    )


def _field_errors(error: RequestValidationError) -> list[FieldError]:
    out: list[FieldError] = []
    for item in error.errors():
        loc = [str(part) for part in item.get("loc", ())]
        location, path = (loc[0], loc[1:]) if loc else ("body", [])
        # A JSON syntax error is located at a character offset: the body as a whole is at fault.
        field = ".".join(path) if path and item.get("type") != "json_invalid" else location
        out.append(FieldError(field=field, location=location, message=str(item.get("msg", "invalid"))))
    return out


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(exc.problem, exc.headers)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    first = errors[0] if errors else FieldError(field="body", location="body", message="invalid")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return problem_response(
        Problem(
            type=TYPE_PREFIX + "invalid-request",
            title="The request is not valid",
            status=422,
            detail=f"{first.field}: {first.message}{more}",
            field=first.field,
            errors=errors,
        )
    )


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = {400: "Bad request", 404: "Not found", 405: "Method not allowed"}.get(
        exc.status_code, "Request refused"
    )
    detail = exc.detail if isinstance(exc.detail, str) else None
    headers: dict[str, Any] = dict(exc.headers or {})
    return problem_response(
        Problem(type="about:blank", title=title, status=exc.status_code, detail=detail), headers
    )


async def _on_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return database_unavailable_response()


def database_unavailable_response() -> JSONResponse:
    return problem_response(
        Problem(
            type=TYPE_PREFIX + "database-unavailable",
            title="The database is unavailable",
            status=503,
            detail="the database did not answer; nothing was recorded, try again shortly",
        ),
        {"Retry-After": "5"},
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        Problem(
            type=TYPE_PREFIX + "internal",
            title="Internal error",
            status=500,
            detail="an internal error occurred",
        )
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(OperationalError, _on_database_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for a route: each status as a problem document."""
    described = {
        400: "The body could not be read (not UTF-8 JSON).",
        401: "No valid bearer token (missing, unknown or revoked).",
        403: "The token's user may not do this (role, area or agency).",
        404: "No such case.",
        409: "The case is not at a stage that takes this event, or has exited MAPPA.",
        422: "The request is invalid or a case rule is not met; `field` and `rule` say which.",
        503: "Temporal or the database is unavailable; nothing was recorded.",
    }
    return {status: {"model": Problem, "description": described[status]} for status in statuses}


def document_media_type(openapi: dict[str, Any]) -> dict[str, Any]:
    """FastAPI files every response model under application/json (or an HTML route's text/html); problems are
    application/problem+json."""
    problem_ref = "#/components/schemas/Problem"
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                # Under application/json, or under the route's own type (an HTML page's refusals are problems).
                for described in content.values():
                    if described.get("schema", {}).get("$ref") == problem_ref:
                        response["content"] = {PROBLEM_JSON: described}
                        break
    return openapi
