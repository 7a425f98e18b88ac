"""The FastAPI app: `uvicorn api.app:app`.

Thin by design: a route validates (the request bodies are the workflow's own event models), authorises, sends
one update or query to the case's workflow, and answers. Every error is a problem document (`api.problems`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import Client

from api import links, problems, request_limits
from api.audit_spool import AuditSpool, drain_all, drain_forever
from api.deps import connect, key_ring_of
from api.routes import (
    audit,
    calendars,
    cases,
    chronology,
    codec,
    deadlines,
    figures,
    health,
    imports,
    minutes,
    ops,
    panels,
)
from api.routes import metrics as ledger_metrics
from api.token_cache import TokenCache
from core import bootstrap
from core.codec import KeyRing
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)

DESCRIPTION = """\
Agencies record MAPPA case events here; each case is one long-running workflow that tracks every statutory
deadline (DOMAIN.md). Authenticate with `Authorization: Bearer <token>` (issued by `mappa tokens issue`).
Send an `Idempotency-Key` header to make a retry safe. Errors are `application/problem+json` (RFC 9457) with
the `rule` and `field` at fault where known.
"""

TAGS = [
    {
        "name": "cases",
        "description": "Open a case, record agency events, read its status, deadlines and file.",
    },
    {
        "name": "minutes",
        "description": "Meeting minutes on a need-to-know basis, their executive summaries and disclosures.",
    },
    {"name": "audit", "description": "Who read or was refused what: a case's audit trail."},
    {
        "name": "codec",
        "description": "The Temporal codec endpoint: co-ordinators read decrypted case history in the UI.",
    },
    {"name": "deadlines", "description": "The statutory deadline calculator."},
    {
        "name": "calendars",
        "description": "An agency's open deadlines as a calendar feed (ICS), opened by the feed's own secret.",
    },
    {"name": "health", "description": "Whether the API reaches Temporal and the database."},
    {
        "name": "ops",
        "description": "Breached and due-soon deadlines, compliance per area (JSON, CSV) and the ops page.",
    },
]


def create_app(
    settings: Settings | None = None,
    *,
    client: Client | None = None,
    engine: Engine | None = None,
    key_ring: KeyRing | None = None,
    audit_spool: AuditSpool | None = None,
) -> FastAPI:
    """The app. Tests pass their own client, engine and spool, which the app then neither builds nor closes
    (nor drains: a test drains a spool it passed with `api.audit_spool.drain_all`)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Fatal: without the payload encryption keys the API must not start (core.codec.CodecKeyError).
        key_ring_of(app.state)
        built_engine = None
        if app.state.engine is None:
            app.state.engine = built_engine = bootstrap.build_engine(settings)
        if app.state.client is None:
            # Not fatal: the API starts without Temporal, answers 503 and connects when Temporal is back.
            app.state.client = await connect(settings, key_ring_of(app.state))
        spool = drain = None
        if app.state.audit_spool is None and settings.audit_spool is not None:
            app.state.audit_spool = spool = AuditSpool(settings.audit_spool)
            # Rows a crashed predecessor left are drained first, then each as its request is answered.
            drain = asyncio.create_task(drain_forever(spool, app.state.engine))
        try:
            yield
        finally:
            # Refused calendar fetches counted but not yet written go to the audit trail before we stop.
            await asyncio.to_thread(calendars.write_counted_refusals, app.state)
            if spool is not None and drain is not None:
                await _stop_draining(spool, drain, app.state.engine)
            if built_engine is not None:
                built_engine.dispose()

    app = FastAPI(
        title="MAPPA case orchestration",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.client = client
    app.state.engine = engine
    app.state.key_ring = key_ring
    app.state.audit_spool = audit_spool
    app.state.connect_lock = asyncio.Lock()
    app.state.token_cache = TokenCache()
    problems.install(app)
    request_limits.install(app)
    codec.install_cors(app, settings)
    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        return links.document_links(problems.document_media_type(generate_openapi()))

    app.openapi = openapi  # type: ignore[method-assign]
    app.include_router(cases.router)
    app.include_router(minutes.router)
    app.include_router(audit.router)
    app.include_router(codec.router)
    app.include_router(deadlines.router)
    app.include_router(health.router)
    app.include_router(ops.router)
    app.include_router(figures.router)
    app.include_router(chronology.router)
    app.include_router(ledger_metrics.router)
    app.include_router(calendars.router)
    app.include_router(imports.router)
    app.include_router(panels.router)
    calendars.install_log_redaction()
    return app


async def _stop_draining(spool: AuditSpool, drain: asyncio.Task[None], engine: Engine) -> None:
    """Stop the drain and write what waits; what the database does not take stays on disk for the next start."""
    drain.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await drain
    try:
        await asyncio.to_thread(drain_all, spool, engine)
    except SQLAlchemyError as error:
        log.error("audit rows left in the spool for the next start (%d): %s", spool.count(), error)
    spool.close()


app = create_app()
