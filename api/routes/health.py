"""Health: does the API reach Temporal and the database? No authentication, no case data."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool

from api.deps import client_or_none, get_engine

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_SECONDS = 3.0

Check = Literal["ok", "unavailable"]


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    temporal: Check
    database: Check


async def _temporal_ok(request: Request) -> bool:
    client = await client_or_none(request)
    if client is None:
        return False
    try:
        return bool(await asyncio.wait_for(client.service_client.check_health(), CHECK_TIMEOUT_SECONDS))
    except Exception:  # any failure means "not healthy"
        return False


def _database_ok(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
    except Exception:  # any failure means "not healthy"
        return False
    return True


@router.get(
    "/health",
    summary="Health",
    description="200 when Temporal and the database both answer, 503 (same body) when either does not.",
    responses={503: {"model": Health, "description": "Temporal or the database does not answer."}},
    operation_id="health",
)
async def health(
    request: Request, response: Response, engine: Annotated[Engine, Depends(get_engine)]
) -> Health:
    temporal, database = await asyncio.gather(_temporal_ok(request), run_in_threadpool(_database_ok, engine))
    checks: dict[str, Check] = {
        "temporal": "ok" if temporal else "unavailable",
        "database": "ok" if database else "unavailable",
    }
    if not (temporal and database):
        response.status_code = 503
    return Health(status="ok" if temporal and database else "degraded", **checks)
