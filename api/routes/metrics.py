"""`GET /metrics`: gauges of the deadline ledger for Prometheus, computed when Prometheus scrapes.

Not authenticated, like most Prometheus targets: it gives only counts by deadline kind and area, no case
reference and nothing about a person. In docker-compose Prometheus scrapes it inside the network; a
deployment that exposes the API more widely keeps `/metrics` off its public route (as any reverse proxy can).
What the worker counts as it goes (breaches, reminders, escalations, delivery failures, lateness) is served
by the worker itself (`activities/metrics.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.deps import get_engine
from core.database import session_factory
from store import views
from workflows.rules.policy import DeadlineKind

router = APIRouter(tags=["ops"])

OPEN_DEADLINES = "mappa_open_deadlines"
OPEN_BREACHES = "mappa_breached_deadlines_open"


class LedgerCollector(Collector):
    """Open deadlines per kind and open breaches per kind and area, read from the ledger at each scrape."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return self._families()

    def _families(self) -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                OPEN_DEADLINES,
                "Deadlines not yet met or cancelled (breached ones included), by deadline kind.",
                labels=["kind"],
            ),
            GaugeMetricFamily(
                OPEN_BREACHES,
                "Deadlines breached and still not met, by deadline kind and area.",
                labels=["kind", "area"],
            ),
        )

    def collect(self) -> Iterable[GaugeMetricFamily]:
        with self._sessions() as session:
            open_by_kind = views.open_deadlines_by_kind(session)
            breaches = views.open_breaches_by_kind_and_area(session)
        open_deadlines, open_breaches = self._families()
        # Every kind, zeros included: a gauge that vanishes when its last deadline closes cannot be alerted on.
        for kind in sorted({k.value for k in DeadlineKind} | open_by_kind.keys()):
            open_deadlines.add_metric([kind], open_by_kind.get(kind, 0))
        for (kind, area), count in sorted(breaches.items()):
            open_breaches.add_metric([kind, area], count)
        return (open_deadlines, open_breaches)


def ledger_metrics(engine: Engine) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(session_factory(engine)))
    return generate_latest(registry)


@router.get("/metrics", include_in_schema=False)
def metrics(engine: Annotated[Engine, Depends(get_engine)]) -> Response:
    # A plain (sync) route: FastAPI runs it on its thread pool, off the event loop, as the queries need.
    return Response(ledger_metrics(engine), media_type=CONTENT_TYPE_LATEST)
