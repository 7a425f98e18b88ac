"""What a request may send, checked before a route reads a byte of its body: who sends it, how large it is,
how deeply its JSON nests, and how long its request line and headers are.

FastAPI reads and parses a route's body before it resolves the route's dependencies, so the bearer token
checked in `api.deps` would be checked only after a 300 MB body had been read into memory or a 200,000-deep
array parsed. `RequestGuard` runs first: a route that takes a body from a signed-in user gets no byte of it
until the token (or the codec's session cookie) is found live; a declared `Content-Length` over the route's
limit is refused before reading; a chunked body is counted as it streams and refused at the first byte over;
JSON is measured for nesting as it streams. Every refusal is a problem document and closes the connection, so
the server reads no more of a body nobody will use. `BODY_LIMITS` is the table the README quotes.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from fastapi import FastAPI
from sqlalchemy.exc import OperationalError
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import problems
from api.deps import engine_of, token_cache_of
from api.routes.codec import MAX_DECODE_BYTES, MAX_ENCODE_BYTES
from api.routes.codec import SESSION_COOKIE as CODEC_SESSION_COOKIE
from api.token_cache import user_holding
from core.database import session_factory

KIB = 1024
MIB = 1024 * KIB
# Deeper than any body the API takes (a meeting's minute nests 5 levels); far below the parser's recursion.
MAX_JSON_DEPTH = 32
# A request line or header block longer than this is no client of ours: 414 / 431. Uvicorn's h11 parser
# refuses longer ones itself when they arrive in pieces (worker/devstack.py: H11_MAX_INCOMPLETE_EVENT_SIZE).
MAX_TARGET_BYTES = 8 * KIB
MAX_HEADER_BYTES = 16 * KIB
# Uvicorn's access log writes the whole request line; a longer one is cut there.
MAX_LOGGED_TARGET = 1 * KIB


class Credentials(Enum):
    BEARER = "a bearer token"
    BEARER_OR_CODEC_COOKIE = "a bearer token or the codec's sign-in cookie"
    IN_THE_FORM = "none before the body: the form carries the token"


@dataclass(frozen=True)
class BodyLimit:
    route: str  # as the README's table names it
    method: str
    path: re.Pattern[str]
    max_bytes: int
    credentials: Credentials


def _path(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[a-z_]+\}", "[^/]+", template) + "$")


def _limit(route: str, max_bytes: int, credentials: Credentials, *, path: str | None = None) -> BodyLimit:
    method, template = route.split(" ", 1)
    return BodyLimit(route, method, _path(path or template), max_bytes, credentials)


# First match wins. Any request not listed takes no body at all.
BODY_LIMITS: tuple[BodyLimit, ...] = (
    # 40 attendees, 60 RMP action sets and 60 items withheld, each up to 4,000 characters.
    _limit("POST /cases/{case_ref}/meetings", 4 * MIB, Credentials.BEARER),
    _limit("POST /cases/{case_ref}/minutes", 4 * MIB, Credentials.BEARER),
    _limit("POST /cases", 1 * MIB, Credentials.BEARER),
    _limit("POST /cases/{case_ref}/{event}", 1 * MIB, Credentials.BEARER),
    _limit("POST /minutes/{minute_ref}/disclosures", 1 * MIB, Credentials.BEARER),
    _limit("POST /disclosures/{disclosure_id}/decision", 1 * MIB, Credentials.BEARER),
    # A panel day: up to 30 cases, each with up to 40 agencies invited.
    _limit("POST /panels", 1 * MIB, Credentials.BEARER),
    # A committed import takes up to 50,000 rows (api/import_jobs.py), at about 1.3 KB a row at most.
    _limit("POST /imports", 64 * MIB, Credentials.BEARER),
    # The codec's own limits (api/routes/codec.py), enforced here before a byte is read.
    _limit("POST /codec/decode", MAX_DECODE_BYTES, Credentials.BEARER_OR_CODEC_COOKIE),
    _limit("POST /codec/encode", MAX_ENCODE_BYTES, Credentials.BEARER_OR_CODEC_COOKIE),
    _limit("POST /codec/login", 4 * KIB, Credentials.IN_THE_FORM),
    _limit("POST /ops/session", 4 * KIB, Credentials.IN_THE_FORM),
)


def body_limit_for(method: str, path: str) -> BodyLimit | None:
    for limit in BODY_LIMITS:
        if limit.method == method and limit.path.match(path):
            return limit
    return None


# ------------------------------------------------------------------------------------------ JSON depth

_JSON_TOKEN = re.compile(rb'\\.|\\$|["\[\]{}]', re.DOTALL)


class JsonDepthGauge:
    """The deepest nesting of `[` and `{` seen so far in JSON fed piece by piece, brackets inside strings
    (and escaped quotes) not counted. Work is proportional to the brackets and quotes, not every byte."""

    def __init__(self) -> None:
        self.depth = 0
        self.deepest = 0
        self._in_string = False
        self._escape_pending = False  # a backslash ended the last piece

    def feed(self, piece: bytes) -> int:
        start = 0
        if self._escape_pending and piece:
            self._escape_pending, start = False, 1
        for match in _JSON_TOKEN.finditer(piece, start):
            token = match.group()
            if token[0] == 0x5C:  # a backslash: only inside a string does it escape anything
                if len(token) == 1:
                    self._escape_pending = self._in_string
                continue
            if token == b'"':
                self._in_string = not self._in_string
            elif self._in_string:
                continue
            elif token in (b"[", b"{"):
                self.depth += 1
                self.deepest = max(self.deepest, self.depth)
            else:
                self.depth -= 1
        return self.deepest


def _is_json(headers: Headers) -> bool:
    """Whether FastAPI will parse the body as one JSON document: it says so, or says nothing. (JSON Lines are
    the import's, which reads each line itself and reports a line too deep on its line.)"""
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    return media in ("", "application/json") or media.endswith("+json")


# ------------------------------------------------------------------------------------------ refusals


def _refusal(status: int, kind: str, title: str, detail: str, **extra: Any) -> Response:
    problem = problems.Problem(
        type=problems.TYPE_PREFIX + kind, title=title, status=status, detail=detail, **extra
    )
    return problems.problem_response(problem)


def _too_large(limit: BodyLimit) -> Response:
    return _refusal(
        413,
        "body-too-large",
        "The request body is too large",
        f"{limit.route} takes a body of at most {_size(limit.max_bytes)} ({limit.max_bytes:,} bytes)",
        rule="body size limit",
        field="body",
    )


def _no_body(method: str, path: str) -> Response:
    return _refusal(
        413,
        "body-too-large",
        "The request body is too large",
        f"{method} {path} takes no body",
        rule="body size limit",
        field="body",
    )


def _too_deep() -> Response:
    return _refusal(
        422,
        "json-too-deep",
        "The JSON nests too deeply",
        f"the body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep; at most {MAX_JSON_DEPTH}",
        rule="JSON nesting limit",
        field="body",
    )


def _size(count: int) -> str:
    return f"{count // MIB} MiB" if count >= MIB else f"{count // KIB} KiB"


def _bearer_token(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _cookie(headers: Headers, name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None


# ------------------------------------------------------------------------------------------ the middleware


class _Refused(Exception):
    """Raised to the app from `receive` once the body broke a limit; the guard answers instead."""


class RequestGuard:
    """The checks above, in order: request line and headers, credentials, declared size, streamed size and
    depth. A route's own checks (token's role, the body's fields) follow as before."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        method, path = scope["method"], scope["path"]
        oversized = _oversized_request_line_or_headers(scope)
        if oversized is not None:
            await self._answer(oversized, scope, receive, send, close=True)
            return
        has_body = _declares_body(headers)
        limit = body_limit_for(method, path)
        if limit is None:
            if has_body:
                await self._answer(_no_body(method, path), scope, receive, send, close=True)
                return
            await self.app(scope, receive, send)
            return
        if limit.credentials is not Credentials.IN_THE_FORM:
            refusal = await self._authenticate(scope, headers, limit.credentials)
            if refusal is not None:
                await self._answer(refusal, scope, receive, send, close=has_body)
                return
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit.max_bytes:
            await self._answer(_too_large(limit), scope, receive, send, close=True)
            return
        await self._guarded(scope, receive, send, limit, _is_json(headers))

    async def _authenticate(
        self, scope: Scope, headers: Headers, credentials: Credentials
    ) -> Response | None:
        """None when the request carries a live token; else the 401 (or 503) the route would have given."""
        token = _bearer_token(headers)
        if token is None and credentials is Credentials.BEARER_OR_CODEC_COOKIE:
            token = _cookie(headers, CODEC_SESSION_COOKIE)
        if token is None:
            hint = "send 'Authorization: Bearer <token>'"
            if credentials is Credentials.BEARER_OR_CODEC_COOKIE:
                hint += ", or sign in at /codec/login for the Temporal UI"
            return _problem_of(problems.unauthenticated(hint, invalid_token=False))
        state = scope["app"].state
        session = session_factory(engine_of(state))()
        try:
            user = await user_holding(token_cache_of(state), session, token)
        except OperationalError:
            return problems.database_unavailable_response()
        finally:
            session.close()
        if user is None:
            return _problem_of(
                problems.unauthenticated("the token is unknown or has been revoked", invalid_token=True)
            )
        return None

    async def _guarded(
        self, scope: Scope, receive: Receive, send: Send, limit: BodyLimit, json: bool
    ) -> None:
        received = 0
        gauge = JsonDepthGauge() if json else None
        refusal: Response | None = None
        answered = False  # whether the app began its answer (then it stands)

        async def counting_receive() -> Message:
            nonlocal received, refusal
            if refusal is not None:
                raise _Refused
            message = await receive()
            if message["type"] == "http.request":
                piece: bytes = message.get("body", b"")
                received += len(piece)
                if received > limit.max_bytes:
                    refusal = _too_large(limit)
                elif gauge is not None and gauge.feed(piece) > MAX_JSON_DEPTH:
                    refusal = _too_deep()
                if refusal is not None:
                    raise _Refused
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal answered
            if refusal is not None and not answered:
                return  # the app's answer to a body it could not read: ours replaces it
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if refusal is None or answered:
                raise
        if refusal is not None and not answered:
            await self._answer(refusal, scope, receive, send, close=True)

    @staticmethod
    async def _answer(response: Response, scope: Scope, receive: Receive, send: Send, *, close: bool) -> None:
        if close:
            # The rest of the body is never read: the server drops the connection instead of draining it.
            response.headers["Connection"] = "close"
        await response(scope, receive, send)


def _oversized_request_line_or_headers(scope: Scope) -> Response | None:
    target = len(scope.get("raw_path") or scope["path"].encode()) + len(scope.get("query_string", b""))
    if target > MAX_TARGET_BYTES:
        detail = f"the path and query take at most {MAX_TARGET_BYTES:,} bytes"
        return _refusal(414, "uri-too-long", "The request line is too long", detail)
    if sum(len(name) + len(value) for name, value in scope["headers"]) > MAX_HEADER_BYTES:
        detail = f"the headers take at most {MAX_HEADER_BYTES:,} bytes"
        return _refusal(431, "headers-too-large", "The headers are too large", detail)
    return None


def _declares_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in headers


def _problem_of(error: problems.ProblemError) -> Response:
    return problems.problem_response(error.problem, error.headers)


# ------------------------------------------------------------------------------------------ access log


class CutLongRequestLines(logging.Filter):
    """Uvicorn logs each request line whole; a hostile one (a 79 KB query string) is cut to a readable size."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_cut(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def _cut(text: str) -> str:
    if len(text) <= MAX_LOGGED_TARGET:
        return text
    return f"{text[:MAX_LOGGED_TARGET]}...[{len(text) - MAX_LOGGED_TARGET} more characters]"


def install(app: FastAPI) -> None:
    """The guard on `app`, and the cut in uvicorn's access log. Install it before the codec's CORS, which then
    wraps it, so a refusal still carries CORS headers for the Temporal UI."""
    app.add_middleware(RequestGuard)
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, CutLongRequestLines) for f in logger.filters):
        logger.addFilter(CutLongRequestLines())


__all__ = [
    "BODY_LIMITS",
    "MAX_JSON_DEPTH",
    "BodyLimit",
    "Credentials",
    "JsonDepthGauge",
    "RequestGuard",
    "body_limit_for",
    "install",
]
