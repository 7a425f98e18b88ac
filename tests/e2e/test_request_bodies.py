"""Hostile sizes at the API's edge: a body is not read before its sender is known, never beyond the route's
limit, and JSON is not parsed past the nesting limit.

The app is driven through ASGI directly, with a body the client streams piece by piece from a generator: the
test counts the bytes the app pulled, so "refused without reading" is an assertion on bytes, not on time. A
300 MB body is generated lazily and never held. No Temporal here: every refusal comes before a route needs it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from api.app import create_app
from api.request_limits import BODY_LIMITS, MAX_JSON_DEPTH, Credentials, body_limit_for
from core.settings import Settings
from tests.e2e.api_rig import database, issue_tokens

MB = 1000 * 1000
PIECE = 64 * 1024  # what uvicorn hands the app at a time


@dataclass
class Exchange:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    pulled: int = 0  # body bytes the app took from the client

    def problem(self) -> dict[str, Any]:
        assert self.headers.get("content-type") == "application/problem+json", self.body[:300]
        problem: dict[str, Any] = json.loads(self.body)
        return problem


async def call(
    app: Any,
    method: str,
    path: str,
    body: Iterable[bytes] = (),
    *,
    headers: dict[str, str] | None = None,
    length: int | None = None,
) -> Exchange:
    """One request through ASGI; `length` sends Content-Length, else the body goes chunked."""
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    raw_headers.append(
        (b"content-length", str(length).encode())
        if length is not None
        else (b"transfer-encoding", b"chunked")
    )
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "server": ("mappa.test", 80),
        "client": ("127.0.0.1", 50000),
    }
    exchange = Exchange()
    pending = iter(body)
    finished = False

    async def receive() -> dict[str, Any]:
        nonlocal finished
        if finished:
            await asyncio.sleep(3600)  # a client that waits for the answer
        piece = next(pending, None)
        if piece is None:
            finished = True
            return {"type": "http.request", "body": b"", "more_body": False}
        exchange.pulled += len(piece)
        return {"type": "http.request", "body": piece, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            exchange.status = message["status"]
            exchange.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            exchange.body += message.get("body", b"")

    await asyncio.wait_for(app(scope, receive, send), 30)
    return exchange


def stream(total: int, piece: bytes = b"x" * PIECE) -> Iterator[bytes]:
    """`total` bytes in pieces, made as they are pulled."""
    sent = 0
    while sent < total:
        chunk = piece[: total - sent]
        sent += len(chunk)
        yield chunk


def deep_array(depth: int) -> Iterator[bytes]:
    yield from stream(depth, b"[" * PIECE)
    yield from stream(depth, b"]" * PIECE)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    _, engine = database(Path(tmp_path_factory.mktemp("limits")))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def tokens(engine: Engine) -> dict[str, str]:
    return issue_tokens(engine)


@pytest.fixture(scope="module")
def app(engine: Engine) -> Any:
    # No Temporal client: a request that got past the guard to a case route would wait on one and fail.
    return create_app(Settings(database_url=str(engine.url)), engine=engine)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


# ------------------------------------------------------------------------------------------ before the body


async def test_a_300_mb_case_opening_without_a_token_is_refused_401_before_a_byte_is_read(app: Any) -> None:
    for length in (300 * MB, None):  # declared, and chunked
        exchange = await call(app, "POST", "/cases", stream(300 * MB), length=length)
        assert exchange.status == 401
        assert exchange.problem()["type"] == "urn:mappa:problem:unauthenticated"
        assert exchange.pulled == 0
        assert exchange.headers["connection"] == "close"


async def test_a_200000_deep_array_without_a_token_is_refused_401_not_parsed(app: Any) -> None:
    exchange = await call(
        app, "POST", "/cases", deep_array(200_000), headers={"Content-Type": "application/json"}
    )
    assert exchange.status == 401
    assert exchange.pulled == 0


async def test_a_revoked_or_unknown_token_is_refused_before_the_body_too(app: Any) -> None:
    exchange = await call(
        app, "POST", "/cases/MAPPA-LAN-2026-7K2Q9X/meetings", stream(300 * MB), headers=bearer("not-a-token")
    )
    assert exchange.status == 401
    assert 'error="invalid_token"' in exchange.headers["www-authenticate"]
    assert exchange.pulled == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(
        [limit for limit in BODY_LIMITS if limit.credentials is not Credentials.IN_THE_FORM]
    ),
    credentials=st.sampled_from(
        [
            {},
            {"Authorization": "Bearer forged-token"},
            {"Authorization": "Basic bGFuOmNv"},
            {"Authorization": "Bearer "},
            {"Cookie": "mappa_codec_token=forged"},
            {"Cookie": "mappa_ops_token=forged"},
        ]
    ),
    size=st.integers(min_value=1, max_value=300 * MB),
    declared=st.booleans(),
)
def test_no_route_reads_a_body_of_any_size_from_a_sender_without_a_live_token(
    app: Any, route: Any, credentials: dict[str, str], size: int, declared: bool
) -> None:
    path = route.route.split(" ", 1)[1].replace("{case_ref}", "MAPPA-LAN-2026-7K2Q9X")
    path = path.replace("{event}", "screening").replace("{minute_ref}", "m").replace("{disclosure_id}", "d")
    exchange = asyncio.run(
        call(app, route.method, path, stream(size), headers=credentials, length=size if declared else None)
    )
    assert exchange.status == 401
    assert exchange.pulled == 0


# ------------------------------------------------------------------------------------------ signed in


async def test_a_deep_array_with_a_token_is_refused_naming_the_nesting_limit(
    app: Any, tokens: dict[str, str]
) -> None:
    exchange = await call(app, "POST", "/cases", deep_array(200_000), headers=bearer(tokens["lan-police"]))
    assert exchange.status == 422
    problem = exchange.problem()
    assert problem["rule"] == "JSON nesting limit"
    assert f"{MAX_JSON_DEPTH} levels" in problem["detail"]
    # Refused at the first piece that went too deep, not after reading the rest.
    assert exchange.pulled == PIECE


async def test_nesting_one_level_over_the_limit_is_refused_and_at_the_limit_is_not(
    app: Any, tokens: dict[str, str]
) -> None:
    over = await call(
        app, "POST", "/cases", iter([b"[" * (MAX_JSON_DEPTH + 1)]), headers=bearer(tokens["lan-police"])
    )
    assert over.status == 422 and over.problem()["rule"] == "JSON nesting limit"
    # At the limit the body reaches the route (the codec, which needs no Temporal), whose own check answers.
    at = await call(
        app,
        "POST",
        "/codec/encode",
        iter([b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH]),
        headers={**bearer(tokens["lan-co"]), "X-Case-Ref": "MAPPA-LAN-2026-7K2Q9X"},
    )
    assert 400 <= at.status < 500 and at.problem().get("rule") != "JSON nesting limit"
    assert at.pulled == 2 * MAX_JSON_DEPTH


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(
        [limit for limit in BODY_LIMITS if limit.credentials is not Credentials.IN_THE_FORM]
    ),
    over=st.integers(min_value=1, max_value=300 * MB),
    piece=st.integers(min_value=16 * 1024, max_value=PIECE),
    declared=st.booleans(),
)
def test_a_signed_in_body_over_its_routes_limit_is_refused_413_having_read_at_most_one_piece_past_it(
    app: Any, tokens: dict[str, str], route: Any, over: int, piece: int, declared: bool
) -> None:
    # The import route reads its body only once it has a Temporal client, which this app has not.
    assume(declared or route.route != "POST /imports")
    path = route.route.split(" ", 1)[1].replace("{case_ref}", "MAPPA-LAN-2026-7K2Q9X")
    path = path.replace("{event}", "screening").replace("{minute_ref}", "m").replace("{disclosure_id}", "d")
    size = route.max_bytes + over
    exchange = asyncio.run(
        call(
            app,
            route.method,
            path,
            stream(size, b" " * piece),
            # The codec's encode route checks this header before it reads the body.
            headers={**bearer(tokens["lan-co"]), "X-Case-Ref": "MAPPA-LAN-2026-7K2Q9X"},
            length=size if declared else None,
        )
    )
    assert exchange.status == 413
    problem = exchange.problem()
    assert problem["rule"] == "body size limit"
    assert f"{route.max_bytes:,} bytes" in problem["detail"]
    # A declared length is refused unread; a chunked body at the first piece over the limit.
    assert exchange.pulled == (0 if declared else min(size, (route.max_bytes // piece + 1) * piece))
    assert exchange.pulled <= route.max_bytes + piece


async def test_a_body_within_its_limit_reaches_the_route_however_it_is_sent(
    app: Any, tokens: dict[str, str]
) -> None:
    form = f"token={tokens['lan-ops']}".encode()
    for length in (len(form), None):
        exchange = await call(
            app,
            "POST",
            "/ops/session",
            iter([form[:5], form[5:]]),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            length=length,
        )
        assert exchange.status == 303, exchange.body[:300]
        assert exchange.pulled == len(form)


async def test_a_sign_in_form_over_4_kib_is_refused_413(app: Any) -> None:
    exchange = await call(
        app,
        "POST",
        "/codec/login",
        stream(10 * MB),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert exchange.status == 413
    assert exchange.pulled <= 4 * 1024 + PIECE


async def test_a_body_sent_to_a_route_that_takes_none_is_refused_unread(
    app: Any, tokens: dict[str, str]
) -> None:
    assert body_limit_for("GET", "/deadlines/calculate") is None
    exchange = await call(
        app, "GET", "/deadlines/calculate", stream(300 * MB), headers=bearer(tokens["lan-co"])
    )
    assert exchange.status == 413
    assert exchange.pulled == 0
