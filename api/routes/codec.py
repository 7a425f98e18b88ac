"""The Temporal codec endpoint: `POST /codec/decode` and `POST /codec/encode` (the codec server protocol).

The Temporal UI (its codec endpoint is `http://<api>/codec`, set by `make dev`) and the CLI
(`temporal workflow show --codec-endpoint http://<api>/codec --codec-auth "Bearer <token>"`) send
`{"payloads": [...]}` (protobuf JSON, bytes as base64) with an `X-Namespace` header. Only a co-ordinator may
decode, and only cases of their own area (each payload names its case, `core.codec`); every decode is
audited against the case it belongs to. Encoding is bound to one case (`X-Case-Ref`) and audited the same way.

The UI cannot send our bearer token, so a co-ordinator signs in once at `/codec/login`: that sets an HttpOnly
cookie for `/codec` only, which the UI sends when its codec setting "Include cross-origin credentials" is on.
CORS admits the UI's origin (`MAPPA_UI_ORIGIN`) on `/codec` and nothing else.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials
from google.protobuf import json_format
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload, Payloads

from api import problems
from api.audit import permit, record, record_allowed
from api.auth import DECODE_HISTORY, ENCODE_PAYLOADS, User, authorise, user_for_token
from api.case_service import CASE_REF_PATTERN
from api.deps import DbSession, Keys, SettingsDep, bearer
from core.codec import WORKFLOW_ID_METADATA, CodecKeyError, EncryptionCodec
from core.settings import Settings
from store.models import AuditOutcome
from workflows.rules.policy import UnknownArea, area_by_code

router = APIRouter(prefix="/codec", tags=["codec"])

PREFIX = "/codec"
SESSION_COOKIE = "mappa_codec_token"
SESSION_SECONDS = 8 * 60 * 60  # a working day; the token's revocation ends it sooner
PAYLOADS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "payloads": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "metadata": {
                                        "type": "object",
                                        "additionalProperties": {"type": "string", "format": "byte"},
                                    },
                                    "data": {"type": "string", "format": "byte"},
                                },
                            },
                        }
                    },
                }
            }
        },
    },
    "responses": {"200": {"content": {"application/json": {"schema": {"type": "object"}}}}},
}


class CodecCorsMiddleware:
    """CORS for the Temporal UI's origin, with credentials, on /codec only: the rest of the API is not for
    browsers on other origins."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_credentials=True,
            allow_methods=["POST"],
            allow_headers=["Authorization", "Content-Type", "X-Namespace", "X-Case-Ref"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(PREFIX + "/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def ui_origins(settings: Settings) -> list[str]:
    """The UI's origin; in development also its localhost / 127.0.0.1 twin (the UI answers on both)."""
    origin = settings.ui_origin.rstrip("/")
    if settings.is_production:
        return [origin]
    twins = {origin.replace("://127.0.0.1", "://localhost"), origin.replace("://localhost", "://127.0.0.1")}
    return sorted({origin} | twins)


def install_cors(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(CodecCorsMiddleware, origins=ui_origins(settings))


def codec_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    db: DbSession,
) -> User:
    """The bearer token's user (CLI), else the signed-in session cookie's (Temporal UI)."""
    token = credentials.credentials if credentials else request.cookies.get(SESSION_COOKIE)
    if not token:
        raise problems.unauthenticated(
            "send 'Authorization: Bearer <token>', or sign in at /codec/login for the Temporal UI",
            invalid_token=False,
        )
    user = user_for_token(db, token)
    if user is None:
        raise problems.unauthenticated("the token is unknown or has been revoked", invalid_token=True)
    return user


CodecUser = Annotated[User, Depends(codec_user)]
Namespace = Annotated[str | None, Header(alias="X-Namespace", description="The Temporal namespace.")]


def _check_namespace(namespace: str | None, ours: str) -> None:
    if namespace is not None and namespace != ours:
        raise problems.ProblemError(
            400, "wrong-namespace", "Not this codec's namespace", f"this codec serves namespace {ours!r} only"
        )


async def _payloads(request: Request) -> Payloads:
    try:
        return json_format.Parse(await request.body(), Payloads(), ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError) as error:
        raise problems.ProblemError(
            400, "invalid-payloads", "Not a Payloads document", f'expected {{"payloads": [...]}}: {error}'
        ) from None


def _case_area(workflow_id: str | None) -> str | None:
    """The area of the case a payload belongs to, when it names one."""
    if workflow_id is None or not re.match(CASE_REF_PATTERN, workflow_id):
        return None
    try:
        return area_by_code(workflow_id.split("-")[1]).area_id
    except UnknownArea:
        return None


def _json(payloads: list[Payload]) -> Response:
    body = json_format.MessageToJson(Payloads(payloads=payloads), indent=None)
    return Response(body, media_type="application/json")


@router.post(
    "/decode",
    summary="Decode payloads (Temporal codec)",
    description='Decrypts `{"payloads": [...]}` for the Temporal UI or CLI. A co-ordinator only, for cases '
    "of their area; each decode is audited against its case.",
    responses=problems.responses(400, 401, 403, 503),
    openapi_extra=PAYLOADS_BODY,
    operation_id="codec_decode",
)
async def decode(
    request: Request,
    user: CodecUser,
    db: DbSession,
    keys: Keys,
    settings: SettingsDep,
    namespace: Namespace = None,
) -> Response:
    _check_namespace(namespace, settings.temporal_namespace)
    payloads = list((await _payloads(request)).payloads)
    where = f"Temporal namespace {settings.temporal_namespace}"
    cases = Counter(
        p.metadata[WORKFLOW_ID_METADATA].decode() if WORKFLOW_ID_METADATA in p.metadata else None
        for p in payloads
    )
    # Each case the payloads belong to is authorised (role and area) and every refusal is recorded against
    # its case; a payload that names no case needs only the role.
    refusals: list[tuple[str | None, problems.ProblemError]] = []
    for case_ref in cases or {None: 0}:
        try:
            authorise(user, DECODE_HISTORY, _case_area(case_ref) or user.area or "")
        except problems.ProblemError as error:
            refusals.append((case_ref if _case_area(case_ref) else None, error))
    for case_ref, refusal in refusals:
        await run_in_threadpool(
            record,
            db,
            user,
            DECODE_HISTORY.action,
            case_ref,
            AuditOutcome.REFUSED,
            refusal.problem.detail,
            where,
        )
    if refusals:
        raise refusals[0][1]
    try:
        decoded = await EncryptionCodec(keys).decode(payloads)
    except CodecKeyError as error:
        raise problems.ProblemError(
            400, "undecodable-payload", "A payload could not be decoded", str(error)
        ) from None
    for case_ref, count in cases.items():
        await record_allowed(
            db,
            user,
            DECODE_HISTORY,
            case_ref if _case_area(case_ref) else None,
            target=where if _case_area(case_ref) else f"{where}, workflow {case_ref or 'not named'}",
            reason=f"{count} payload(s) decoded",
        )
    return _json(decoded)


CaseRefHeader = Annotated[
    str | None,
    Header(
        alias="X-Case-Ref",
        description="The case the encoded payloads are for: they are bound to it, as the case's own are.",
    ),
]


@router.post(
    "/encode",
    summary="Encode payloads (Temporal codec)",
    description='Encrypts `{"payloads": [...]}` under the current key for one case, named in the `X-Case-Ref` '
    "header: the payloads are bound to that case as its own are. A co-ordinator only, for cases of their "
    "area; each encode is audited against its case.",
    responses=problems.responses(400, 401, 403, 422, 503),
    openapi_extra=PAYLOADS_BODY,
    operation_id="codec_encode",
)
async def encode(
    request: Request,
    user: CodecUser,
    db: DbSession,
    keys: Keys,
    settings: SettingsDep,
    namespace: Namespace = None,
    case_ref: CaseRefHeader = None,
) -> Response:
    _check_namespace(namespace, settings.temporal_namespace)
    area = _case_area(case_ref)
    if case_ref is None or area is None:
        raise problems.invalid_parameter(
            "X-Case-Ref",
            "name the case the payloads are for in the X-Case-Ref header (e.g. MAPPA-LAN-2026-7K2Q9X): "
            "encoded payloads are bound to one case",
        )
    payloads = list((await _payloads(request)).payloads)
    where = f"Temporal namespace {settings.temporal_namespace}"
    await permit(db, user, ENCODE_PAYLOADS, area=area, case_ref=case_ref, audit_allowed=False, target=where)
    codec = EncryptionCodec(keys)
    codec.workflow_id = case_ref
    encoded = await codec.encode(payloads)
    await record_allowed(
        db, user, ENCODE_PAYLOADS, case_ref, target=where, reason=f"{len(payloads)} payload(s) encoded"
    )
    return _json(encoded)


LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MAPPA: decode case history</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Decode case history in the Temporal UI</h1>
<p>{message}</p>
<form method="post" action="/codec/login">
  <label>Your API token (co-ordinators only)<br><input name="token" type="password" size="60" required></label>
  <p><button type="submit">Sign in</button></p>
</form>
<p>Then, in the Temporal UI, open the codec settings and turn on <em>Include cross-origin credentials</em>.
Every payload you decode is recorded in the case's audit trail.</p>
</body></html>
"""


@router.get("/login", include_in_schema=False)
async def login_page() -> HTMLResponse:
    return HTMLResponse(LOGIN_PAGE.format(message="Sign in with your API token to read decrypted history."))


@router.post("/login", include_in_schema=False)
async def login(request: Request, db: DbSession, settings: SettingsDep) -> HTMLResponse:
    form: Any = await request.form()
    token = str(form.get("token") or "").strip()
    user = user_for_token(db, token) if token else None
    if user is None:
        return HTMLResponse(LOGIN_PAGE.format(message="That token is unknown or revoked."), status_code=401)
    where = f"Temporal namespace {settings.temporal_namespace}"
    try:
        await permit(
            db, user, DECODE_HISTORY, area=user.area or "", case_ref=None, audit_allowed=False, target=where
        )
    except problems.ProblemError as refusal:
        message = html.escape(refusal.problem.detail or "not allowed")
        return HTMLResponse(LOGIN_PAGE.format(message=message), status_code=403)
    await record_allowed(
        db, user, DECODE_HISTORY, None, target=where, action="sign in to decode case history"
    )
    response = HTMLResponse(
        LOGIN_PAGE.format(
            message=f"Signed in as {html.escape(user.user_name)} for {SESSION_SECONDS // 3600} hours."
        )
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_SECONDS,
        path=PREFIX,
        httponly=True,
        secure=settings.is_production,
        samesite="strict",
    )
    return response
