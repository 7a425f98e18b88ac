"""The Temporal codec endpoint: `POST /codec/decode` and `POST /codec/encode` (the codec server protocol).

The Temporal UI (its codec endpoint is `http://<api>/codec`, set by `make dev`) and the CLI
(`temporal workflow show --codec-endpoint http://<api>/codec --codec-auth "Bearer <token>"`) send
`{"payloads": [...]}` (protobuf JSON, bytes as base64) with an `X-Namespace` header. Only a co-ordinator may
decode, and only payloads of their own area: each names its workflow (`core.codec`), a case (which must exist)
or an area's other workflow (the weekly digest). Decodes are audited against their case, once per user and case
within a few minutes, since one view in the UI is dozens of requests. Encoding is bound to one existing case
(`X-Case-Ref`) and audited. Each request's size and payload count are bounded before anything is decrypted.

The UI cannot send our bearer token, so a co-ordinator signs in once at `/codec/login`: that sets an HttpOnly
cookie for `/codec` only, which the UI sends when its codec setting "Include cross-origin credentials" is on.
CORS admits the UI's origin (`MAPPA_UI_ORIGIN`) on `/codec` and nothing else.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials
from google.protobuf import json_format
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload, Payloads

from api import problems
from api.audit import permit, record_allowed, record_once_within, refuse
from api.auth import DECODE_HISTORY, ENCODE_PAYLOADS, User, authorise, user_for_token
from api.case_service import CASE_REF_PATTERN, case_exists
from api.deps import DbSession, Keys, SettingsDep, bearer, get_client, token_cache_of
from core.codec import WORKFLOW_ID_METADATA, CodecKeyError, EncryptionCodec, is_encrypted
from core.settings import Settings
from store.models import AuditOutcome
from workflows.digest import SCHEDULE_ID_PREFIX
from workflows.rules.policy import AREAS, UnknownArea, area_by_code

log = logging.getLogger(__name__)

router = APIRouter(prefix="/codec", tags=["codec"])

PREFIX = "/codec"
SESSION_COOKIE = "mappa_codec_token"
SESSION_SECONDS = 8 * 60 * 60  # a working day; the token's revocation ends it sooner
MIB = 1024 * 1024
# What one request may ask, checked before anything is decrypted. The UI sends one event's payloads at a
# time and the CLI one history page; Temporal itself refuses a payload over 2 MiB.
MAX_DECODE_PAYLOADS = 1_000
MAX_DECODE_BYTES = 8 * MIB
MAX_DECODE_WORKFLOWS = 50
MAX_ENCODE_PAYLOADS = 100
MAX_ENCODE_BYTES = 2 * MIB
# A view of one case in the UI is dozens of decode requests: the trail records it once per user and case in
# this window.
DECODE_AUDIT_MINUTES = 10
DECODE_AUDIT_WINDOW = timedelta(minutes=DECODE_AUDIT_MINUTES)
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


def _holder_of(db: Session, token: str) -> User | None:
    """The token's holder, with the connection given back at once: the UI sends dozens of decodes together,
    and each holding a connection (and a thread waiting for one) until its audit row would starve the pool."""
    try:
        return user_for_token(db, token)
    finally:
        db.rollback()


async def codec_user(
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
    cache = token_cache_of(request.app.state)
    user = cache.get(token)
    if user is None:
        user = await run_in_threadpool(_holder_of, db, token)
        if user is not None:
            cache.put(token, user)
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


def _too_large(detail: str) -> problems.ProblemError:
    return problems.ProblemError(413, "payloads-too-large", "Too many or too large payloads", detail)


async def _body(request: Request, limit: int, route: str) -> bytes:
    """The request body, refused (413) as soon as it is known to exceed `limit` bytes: never read whole."""
    too_large = _too_large(
        f"{route} takes at most {limit // MIB} MiB a request; send fewer payloads at a time"
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def _parsed(body: bytes, most: int, route: str) -> list[Payload]:
    """The payloads of a `{"payloads": [...]}` document, counted before any is converted."""
    try:
        document = json.loads(body)
        listed = document.get("payloads") if isinstance(document, dict) else None
        if not isinstance(listed, list):
            raise ValueError('no "payloads" list')
        if len(listed) > most:
            raise _too_large(f"{route} takes at most {most} payloads a request; this one has {len(listed)}")
        parsed = json_format.ParseDict({"payloads": listed}, Payloads(), ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as error:
        raise problems.ProblemError(
            400, "invalid-payloads", "Not a Payloads document", f'expected {{"payloads": [...]}}: {error}'
        ) from None
    return list(parsed.payloads)


async def _payloads(request: Request, limit: int, most: int, route: str) -> list[Payload]:
    body = await _body(request, limit, route)
    return await run_in_threadpool(_parsed, body, most, route)


# Workflows that are not cases but belong to one area, by ID prefix: the area id follows the prefix (the weekly
# digest's schedule `weekly-digest-lanarkshire`, whose runs add their time; an import `import-lanarkshire-…`).
AREA_WORKFLOWS = {SCHEDULE_ID_PREFIX: "weekly digest", "import-": "import"}


@dataclass(frozen=True)
class Owner:
    """Whose payloads: a case, an area's other workflow, or what the codec cannot place (no area)."""

    case_ref: str | None = None
    area: str | None = None
    workflow: str = "a workflow the codec does not know"  # for the audit trail: never the raw ID

    @property
    def audit_target(self) -> str:
        return "" if self.case_ref else f", {self.workflow}"


def owner_of(workflow_id: str | None) -> Owner:
    """The case or area a workflow's payloads belong to, read from its ID. An ID no area can be read from
    (or none at all) gets no area: its payloads are decoded for no one."""
    if workflow_id is None:
        return Owner(workflow="payloads that name no workflow")
    if re.match(CASE_REF_PATTERN, workflow_id):
        try:
            return Owner(workflow_id, area_by_code(workflow_id.split("-")[1]).area_id)
        except UnknownArea:
            return Owner(workflow_id)
    for prefix, kind in AREA_WORKFLOWS.items():
        rest = workflow_id.removeprefix(prefix)
        for area_id in sorted(AREAS, key=len, reverse=True):  # "greater-manchester" before a shorter id
            if rest != workflow_id and (rest == area_id or rest.startswith(area_id + "-")):
                return Owner(area=area_id, workflow=f"{kind} workflow {prefix}{area_id}")
    return Owner()


def _workflow_id(payload: Payload) -> str | None:
    named = payload.metadata.get(WORKFLOW_ID_METADATA)
    return None if named is None else named.decode("utf-8", errors="replace")


def _refusal(user: User, owner: Owner) -> problems.ProblemError | None:
    try:
        authorise(user, DECODE_HISTORY, owner.area or user.area or "")
    except problems.ProblemError as refusal:
        return refusal
    if owner.area is None and owner.case_ref is not None:
        return problems.case_not_found(owner.case_ref)  # a reference with no area's code
    if owner.area is None:
        return problems.forbidden(
            f"{owner.workflow}: the codec decodes only payloads bound to a case or to an area's workflow, "
            "for that area's co-ordinator",
            rule="codec scope",
        )
    return None


def _json(payloads: list[Payload]) -> Response:
    body = json_format.MessageToJson(Payloads(payloads=payloads), indent=None)
    return Response(body, media_type="application/json")


AUDIT_LOCKS = 64


def _audit_lock(request: Request, user: User, owner: Owner) -> asyncio.Lock:
    """Concurrent decodes of one case by one user (the UI sends them in parallel) take turns, so they make one
    row, not several; others go on. A few locks per app, each shared by whichever keys hash to it."""
    state = request.app.state
    if getattr(state, "decode_audit_locks", None) is None:
        state.decode_audit_locks = [asyncio.Lock() for _ in range(AUDIT_LOCKS)]
    locks: list[asyncio.Lock] = state.decode_audit_locks
    return locks[hash((user.user_name, owner)) % AUDIT_LOCKS]


async def _record_view(
    request: Request,
    db: Session,
    user: User,
    owner: Owner,
    outcome: AuditOutcome,
    reason: str,
    where: str,
) -> None:
    if db.in_transaction():
        await run_in_threadpool(db.rollback)  # nothing written yet: hold no connection while waiting a turn
    async with _audit_lock(request, user, owner):
        await run_in_threadpool(
            record_once_within,
            db,
            user,
            DECODE_HISTORY.action,
            owner.case_ref,
            outcome,
            reason,
            where + owner.audit_target,
            DECODE_AUDIT_WINDOW,
        )


def _undecodable(error: CodecKeyError) -> problems.ProblemError:
    # The key ring's ids are not the caller's business: the detail stays in the API's log.
    log.warning("codec endpoint: a payload did not decode: %s", error)
    return problems.ProblemError(
        400,
        "undecodable-payload",
        "A payload could not be decoded",
        "a payload could not be decrypted: it was altered, is not bound to the workflow it names, or is under "
        "a key this codec does not hold",
    )


DECODE_RESPONSES = {
    **problems.responses(400, 401, 403, 404, 503),
    413: {
        "model": problems.Problem,
        "description": f"More than {MAX_DECODE_PAYLOADS} payloads, {MAX_DECODE_BYTES // MIB} MiB or "
        f"{MAX_DECODE_WORKFLOWS} workflows in one request.",
    },
}


@router.post(
    "/decode",
    summary="Decode payloads (Temporal codec)",
    description='Decrypts `{"payloads": [...]}` for the Temporal UI or CLI. A co-ordinator only, for cases '
    f"(and the area's other workflows, such as the weekly digest) of their area. At most {MAX_DECODE_PAYLOADS} "
    f"payloads, {MAX_DECODE_BYTES // MIB} MiB and {MAX_DECODE_WORKFLOWS} workflows a request. Audited once "
    f"per user and case within {DECODE_AUDIT_MINUTES} minutes (a view in the UI is many requests).",
    responses=DECODE_RESPONSES,
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
    payloads = await _payloads(request, MAX_DECODE_BYTES, MAX_DECODE_PAYLOADS, "/codec/decode")
    where = f"Temporal namespace {settings.temporal_namespace}"
    # Only encrypted payloads are read: the rest (search attributes) pass through as they came.
    named = Counter(_workflow_id(p) for p in payloads if is_encrypted(p))
    if len(named) > MAX_DECODE_WORKFLOWS:
        raise _too_large(
            f"/codec/decode takes payloads of at most {MAX_DECODE_WORKFLOWS} workflows a request; this one "
            f"names {len(named)}"
        )
    owners: Counter[Owner] = Counter()
    for workflow_id, count in named.items():
        owners[owner_of(workflow_id)] += count
    # The role, the area and that each case exists, before anything is decrypted; the first refusal is
    # recorded against what it refused, and one refusal is all a request writes.
    for owner in owners or [Owner(area=user.area, workflow="payloads that need no decryption")]:
        refusal = _refusal(user, owner)
        if (
            refusal is None
            and owner.case_ref is not None
            and not await case_exists(await get_client(request), owner.case_ref)
        ):
            refusal = problems.case_not_found(owner.case_ref)
        if refusal is not None:
            reason = refusal.problem.detail or refusal.problem.title
            await _record_view(request, db, user, owner, AuditOutcome.REFUSED, reason, where)
            raise refusal
    try:
        decoded = await run_in_threadpool(
            lambda: [EncryptionCodec(keys).decrypt_payload(p) for p in payloads]
        )
    except CodecKeyError as error:
        raise _undecodable(error) from None
    for owner, count in owners.items():
        await _record_view(
            request, db, user, owner, AuditOutcome.ALLOWED, f"{count} payload(s) decoded", where
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
    "header: the payloads are bound to that case as its own are. A co-ordinator only, for existing cases of "
    f"their area; at most {MAX_ENCODE_PAYLOADS} payloads and {MAX_ENCODE_BYTES // MIB} MiB a request; each "
    "encode is audited against its case.",
    responses={
        **problems.responses(400, 401, 403, 404, 422, 503),
        413: {
            "model": problems.Problem,
            "description": f"More than {MAX_ENCODE_PAYLOADS} payloads or {MAX_ENCODE_BYTES // MIB} MiB.",
        },
    },
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
    owner = owner_of(case_ref)
    if case_ref is None or owner.case_ref is None or owner.area is None:
        raise problems.invalid_parameter(
            "X-Case-Ref",
            "name the case the payloads are for in the X-Case-Ref header (e.g. MAPPA-LAN-2026-7K2Q9X): "
            "encoded payloads are bound to one case",
        )
    where = f"Temporal namespace {settings.temporal_namespace}"
    await permit(
        db, user, ENCODE_PAYLOADS, area=owner.area, case_ref=case_ref, audit_allowed=False, target=where
    )
    payloads = await _payloads(request, MAX_ENCODE_BYTES, MAX_ENCODE_PAYLOADS, "/codec/encode")
    if not await case_exists(await get_client(request), case_ref):
        await refuse(db, user, ENCODE_PAYLOADS.action, case_ref, problems.case_not_found(case_ref), where)
    codec = EncryptionCodec(keys)
    codec.workflow_id = case_ref
    encoded = await run_in_threadpool(lambda: [codec.encrypt_payload(p) for p in payloads])
    await record_allowed(
        db, user, ENCODE_PAYLOADS, case_ref, target=where, reason=f"{len(payloads)} payload(s) encoded"
    )
    return _json(encoded)


LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MAPPA: decode case history</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Decode case history in the Temporal UI</h1>
<p>{message}</p>
{body}
<p>Each case you read decrypted is recorded in its audit trail.</p>
</body></html>
"""

SIGN_IN_FORM = """<form method="post" action="/codec/login">
  <input type="hidden" name="then" value="{then}">
  <label>Your API token (co-ordinators only)<br><input name="token" type="password" size="60" required></label>
  <p><button type="submit">Sign in</button></p>
</form>"""

# What the UI needs once per browser; it keeps the setting, and a page open before sign-in must be reloaded.
UI_SETTINGS = """<p>Once per browser, in the Temporal UI's <em>Codec Server</em> settings: choose your browser's
setting rather than the cluster's, give the endpoint <code>{endpoint}</code>, turn on <em>Include cross-origin
credentials</em> and save (where the UI is set up with credentials already, nothing to do).</p>
<p><a href="{then}">Back to the Temporal UI</a>, then reload the page: history the UI showed before you
signed in stays encrypted until it is loaded again.</p>"""


def _back_to_ui(then: str | None, settings: Settings) -> str:
    """Where the page links back to: the UI page the user came from when it is the UI's, else the UI."""
    origins = ui_origins(settings)
    if then and any(then == o or then.startswith(o + "/") for o in origins):
        return then
    return origins[0]


def _page(message: str, body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(
        LOGIN_PAGE.format(message=message, body=body),
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def _sign_in_page(message: str, then: str, status_code: int = 200) -> HTMLResponse:
    return _page(message, SIGN_IN_FORM.format(then=html.escape(then)), status_code)


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _same_origin_or_ui(request: Request, settings: Settings) -> bool:
    """A browser's sign-in comes from this page (the API's own origin) or the UI's. A request with no Origin
    is not a browser's cross-site form; any other origin is another site signing the browser in (login CSRF)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin.rstrip("/") in [*ui_origins(settings), _origin_of(settings.api_base_url)]:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "") != ""


@router.get("/login", include_in_schema=False)
async def login_page(settings: SettingsDep, then: str | None = None) -> HTMLResponse:
    return _sign_in_page(
        "Sign in with your API token to read decrypted history.", _back_to_ui(then, settings)
    )


@router.post("/login", include_in_schema=False)
async def login(request: Request, db: DbSession, settings: SettingsDep) -> HTMLResponse:
    if not _same_origin_or_ui(request, settings):
        return _page(
            "Sign in from this page: a sign-in sent from another site is refused.", "", status_code=403
        )
    form: Any = await request.form()
    token = str(form.get("token") or "").strip()
    then = _back_to_ui(str(form.get("then") or ""), settings)
    user = user_for_token(db, token) if token else None
    if user is None:
        return _sign_in_page("That token is unknown or revoked.", then, status_code=401)
    where = f"Temporal namespace {settings.temporal_namespace}"
    try:
        await permit(
            db, user, DECODE_HISTORY, area=user.area or "", case_ref=None, audit_allowed=False, target=where
        )
    except problems.ProblemError as refusal:
        message = html.escape(refusal.problem.detail or "not allowed")
        return _sign_in_page(message, then, status_code=403)
    await record_allowed(
        db, user, DECODE_HISTORY, None, target=where, action="sign in to decode case history"
    )
    endpoint = settings.api_base_url + PREFIX  # the configured address, never the request's Host
    response = _page(
        f"Signed in as {html.escape(user.user_name)} for {SESSION_SECONDS // 3600} hours.",
        UI_SETTINGS.format(endpoint=html.escape(endpoint), then=html.escape(then)),
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
