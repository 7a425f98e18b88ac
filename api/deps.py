"""The API's dependencies, as `Annotated` aliases: settings, Temporal client, database session, current user.

Everything comes from `app.state`, filled by `create_app` (tests hand it their client and engine) and its
lifespan; each dependency builds what is still missing, so the app also works under a transport that runs no
lifespan.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client
from temporalio.service import RetryConfig

from api import problems
from api.audit_spool import AuditSpool
from api.auth import User
from api.case_service import CASE_REF_PATTERN
from api.token_cache import TokenCache, user_holding
from core import bootstrap
from core.codec import KeyRing
from core.converter import encrypting_data_converter, key_ring_for
from core.database import session_factory
from core.settings import Settings

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_SECONDS = 5.0
# The SDK retries a call Temporal did not answer for up to 10 s by default; the API gives up after about one
# second and answers 503 (Retry-After), so a client is not kept waiting on a server that is down.
TEMPORAL_RETRY = RetryConfig(
    initial_interval_millis=100, max_interval_millis=500, max_elapsed_time_millis=1000
)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def key_ring_of(state: Any) -> KeyRing:
    """The app's payload keys, loaded on first use; `CodecKeyError` (no key: refuse to serve) otherwise."""
    if state.key_ring is None:
        state.key_ring = key_ring_for(state.settings)
    key_ring: KeyRing = state.key_ring
    return key_ring


def get_key_ring(request: Request) -> KeyRing:
    return key_ring_of(request.app.state)


Keys = Annotated[KeyRing, Depends(get_key_ring)]


async def connect(settings: Settings, key_ring: KeyRing) -> Client | None:
    """Connect to Temporal, or None when it does not answer (routes that need it answer 503)."""
    data_converter = encrypting_data_converter(key_ring)
    try:
        return await asyncio.wait_for(
            bootstrap.connect_client(settings, data_converter=data_converter, retry_config=TEMPORAL_RETRY),
            CONNECT_TIMEOUT_SECONDS,
        )
    except Exception as error:  # any failure to connect is "Temporal unavailable"
        log.warning("Temporal at %s not reachable: %s", settings.temporal_address, error)
        return None


async def client_or_none(request: Request) -> Client | None:
    """The app's Temporal client, connecting on first use (and again after a failed connect)."""
    state = request.app.state
    if state.client is None:
        async with state.connect_lock:
            if state.client is None:
                state.client = await connect(state.settings, key_ring_of(state))
    client: Client | None = state.client
    return client


async def get_client(request: Request) -> Client:
    client = await client_or_none(request)
    if client is None:
        settings: Settings = request.app.state.settings
        raise problems.temporal_unavailable(f"Temporal at {settings.temporal_address} is not reachable")
    return client


TemporalClient = Annotated[Client, Depends(get_client)]


def engine_of(state: Any) -> Engine:
    if state.engine is None:
        state.engine = bootstrap.build_engine(state.settings)
    engine: Engine = state.engine
    return engine


def get_engine(request: Request) -> Engine:
    return engine_of(request.app.state)


async def get_db(engine: Annotated[Engine, Depends(get_engine)]) -> AsyncIterator[Session]:
    """A session for the request. Async, so that FastAPI makes no thread-pool hop to open and close it: a
    session opens no connection until first used, and one already committed (the audit row) holds none."""
    session = session_factory(engine)()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)  # a rollback on the connection: blocking I/O
        else:
            session.close()


DbSession = Annotated[Session, Depends(get_db)]


def get_audit_spool(request: Request) -> AuditSpool | None:
    """Where events' audit rows wait for the database (api/audit_spool.py); None: committed before answering."""
    spool: AuditSpool | None = getattr(request.app.state, "audit_spool", None)
    return spool


AuditSpoolDep = Annotated[AuditSpool | None, Depends(get_audit_spool)]

bearer = HTTPBearer(auto_error=False, description="A token issued by `mappa tokens issue`.")


def token_cache_of(state: Any) -> TokenCache:
    if getattr(state, "token_cache", None) is None:
        state.token_cache = TokenCache()
    cache: TokenCache = state.token_cache
    return cache


async def get_current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    db: DbSession,
) -> User:
    if credentials is None:
        raise problems.unauthenticated("send 'Authorization: Bearer <token>'", invalid_token=False)
    user = await user_holding(token_cache_of(request.app.state), db, credentials.credentials)
    if user is None:
        raise problems.unauthenticated("the token is unknown or has been revoked", invalid_token=True)
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]

CaseRef = Annotated[
    str,
    Path(
        pattern=CASE_REF_PATTERN,
        description="The case reference: MAPPA-{area code}-{year}-{6 characters}. It holds no personal data.",
        examples=["MAPPA-LAN-2026-7K2Q9X"],
    ),
]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Send the same key to retry safely: a repeat gets the first answer, records nothing new.",
    ),
]
