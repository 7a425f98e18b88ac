"""Benchmark 5, ops queries: `store.views.breached_and_due_soon` (breached + due within 7 days) and
`store.views.compliance` (the annual report) over a ledger of many cases, on PostgreSQL and on SQLite.

The ledger is built by the migrations (the production schema and indexes), then filled by bulk insert (COPY on
PostgreSQL, executemany on SQLite) with a synthetic but plausible population: cases opened over ten years,
each with its deadlines one after another, most met, some late, a few breached, the latest ones open. Each
query is timed as the API calls it (the function, rows turned into models included), per area, after
ANALYZE. The baseline beside it is a `SELECT 1` round trip on the same session.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bench.report import Figure, Result, percentile
from bench.rig import postgres_schema, postgres_server_url
from core.database import make_engine
from store import views
from store.migrate import upgrade
from workflows.rules.calendar import local_date
from workflows.rules.policy import AREAS, DeadlineKind

P95_TARGET_MS = 50.0


@dataclass(frozen=True)
class Sizes:
    cases: int
    deadlines_per_case: int
    repeats: int


SMALL = Sizes(cases=10_000, deadlines_per_case=10, repeats=10)
FULL = Sizes(cases=100_000, deadlines_per_case=10, repeats=20)

CASE_COLUMNS = (
    "case_ref",
    "area",
    "jurisdiction",
    "category",
    "level",
    "stage",
    "lead_agency",
    "opened_at",
    "exited_at",
    "open_breaches",
    "next_deadline_at",
    "next_deadline_kind",
    "updated_at",
)
DEADLINE_COLUMNS = (
    "case_ref",
    "deadline_id",
    "area",
    "jurisdiction",
    "kind",
    "title",
    "source",
    "responsible",
    "opened_at",
    "due_at",
    "due_date",
    "state",
    "met_at",
    "breached_at",
    "met_late",
    "cancelled_at",
    "cancel_reason",
    "escalations",
)
# The order deadlines come in over a case's life; reviews repeat.
LIFE = [
    DeadlineKind.NOTIFICATION,
    DeadlineKind.SCREENING,
    DeadlineKind.REFERRAL,
    DeadlineKind.REFERRAL_DECISION,
    DeadlineKind.RECORD_SEARCH,
    DeadlineKind.RECORD_SEARCH,
    DeadlineKind.INITIAL_MEETING_LEVEL_2,
    DeadlineKind.MINUTES,
    DeadlineKind.RMP_ACTION,
]
RESPONSIBLE = ["co-ordinator", "lead agency", "police", "probation", "council", "health"]


def population(
    sizes: Sizes, now: datetime, seed: int = 6
) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """(case row, its deadline rows), for `sizes.cases` cases."""
    rng = random.Random(seed)
    areas = list(AREAS.values())
    ten_years = timedelta(days=3652)
    for number in range(sizes.cases):
        area = areas[number % len(areas)]
        opened = now - ten_years * rng.random() ** 0.7 - timedelta(days=2)
        exited = rng.random() < 0.25 and opened < now - timedelta(days=400)
        end = opened + (now - opened) * rng.uniform(0.3, 0.95) if exited else now + timedelta(weeks=12)
        step = (end - opened) / sizes.deadlines_per_case
        ref = f"MAPPA-{area.code}-{opened.year}-{number:06d}"
        rows: list[tuple[Any, ...]] = []
        breaches = 0
        next_due: tuple[datetime, str] | None = None
        for index in range(sizes.deadlines_per_case):
            kind = LIFE[index] if index < len(LIFE) else DeadlineKind.REVIEW_LEVEL_2
            due = opened + step * (index + 1) + timedelta(hours=rng.uniform(-48, 48))
            opened_at = min(due - timedelta(days=1), opened + step * index)
            state, met_at, breached_at, met_late, cancelled_at, reason = "met", None, None, False, None, None
            roll = rng.random()
            if due < now - timedelta(days=30) or exited:
                if roll < 0.02:
                    state, cancelled_at, reason = "cancelled", due - timedelta(days=1), "case exited MAPPA"
                elif roll < 0.08:
                    met_late, breached_at, met_at = True, due, due + timedelta(days=rng.uniform(0.1, 20))
                else:
                    met_at = due - timedelta(days=rng.uniform(0, 10))
            elif due < now:
                if roll < 0.12:
                    state, breached_at = "breached", due
                elif roll < 0.125:
                    state = "open"  # past due, not yet marked: a lagging worker
                elif roll < 0.2:
                    met_late, breached_at, met_at = (
                        True,
                        due,
                        min(now, due + timedelta(days=rng.uniform(0.1, 5))),
                    )
                else:
                    met_at = due - timedelta(days=rng.uniform(0, 3))
            else:
                state = "open" if roll < 0.95 else "cancelled"
                if state == "cancelled":
                    cancelled_at, reason = (
                        now - timedelta(days=1),
                        "replaced by a new deadline of the same kind",
                    )
            if state == "breached":
                breaches += 1
            if state == "open" and due > now and (next_due is None or due < next_due[0]):
                next_due = (due, kind.value)
            rows.append(
                (
                    ref,
                    f"{kind.value}-{index}",
                    area.area_id,
                    area.jurisdiction.value,
                    kind.value,
                    kind.value.replace("-", " "),
                    "policy",
                    rng.choice(RESPONSIBLE),
                    opened_at,
                    due,
                    local_date(due),
                    state,
                    met_at,
                    breached_at,
                    met_late,
                    cancelled_at,
                    reason,
                    1 if breached_at else 0,
                )
            )
        case = (
            ref,
            area.area_id,
            area.jurisdiction.value,
            rng.choice((1, 2, 3)),
            rng.choice((1, 2, 2, 3)),
            "exited" if exited else "active-management",
            "police",
            opened,
            end if exited else None,
            breaches,
            next_due[0] if next_due else None,
            next_due[1] if next_due else None,
            now,
        )
        yield case, rows


def chunks(sizes: Sizes, now: datetime, cases_per_chunk: int = 5000) -> Iterator[tuple[list[Any], list[Any]]]:
    cases: list[tuple[Any, ...]] = []
    deadlines: list[tuple[Any, ...]] = []
    for case, rows in population(sizes, now):
        cases.append(case)
        deadlines.extend(rows)
        if len(cases) == cases_per_chunk:
            yield cases, deadlines
            cases, deadlines = [], []
    if cases:
        yield cases, deadlines


def load_postgresql(url: str, sizes: Sizes, now: datetime) -> None:
    libpq = url.replace("+psycopg", "", 1)
    with psycopg.connect(libpq) as connection, connection.cursor() as cursor:
        for cases, deadlines in chunks(sizes, now):
            with cursor.copy(f"COPY ledger_cases ({', '.join(CASE_COLUMNS)}) FROM STDIN") as copy:
                for row in cases:
                    copy.write_row(row)
            with cursor.copy(f"COPY ledger_deadlines ({', '.join(DEADLINE_COLUMNS)}) FROM STDIN") as copy:
                for row in deadlines:
                    copy.write_row(row)
        cursor.execute("ANALYZE ledger_cases")
        cursor.execute("ANALYZE ledger_deadlines")
        connection.commit()


def load_sqlite(engine: Engine, sizes: Sizes, now: datetime) -> None:
    def iso(value: Any) -> Any:
        # What SQLAlchemy's DateTime stores in SQLite (and compares as text): UTC, microseconds always shown.
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        if isinstance(value, date):
            return value.isoformat()
        return value

    case_sql = (
        f"INSERT INTO ledger_cases ({', '.join(CASE_COLUMNS)}) VALUES ({', '.join('?' * len(CASE_COLUMNS))})"
    )
    deadline_sql = (
        f"INSERT INTO ledger_deadlines ({', '.join(DEADLINE_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(DEADLINE_COLUMNS))})"
    )
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for cases, deadlines in chunks(sizes, now):
            cursor.executemany(case_sql, [tuple(iso(v) for v in row) for row in cases])
            cursor.executemany(deadline_sql, [tuple(iso(v) for v in row) for row in deadlines])
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def timed(samples: list[float], call: Any) -> Any:
    started = time.perf_counter()
    value = call()
    samples.append((time.perf_counter() - started) * 1000)
    return value


@dataclass
class Timings:
    ops_area: list[float]
    ops_national: list[float]
    compliance: list[float]
    select_1: list[float]
    rows_ops: int = 0
    rows_compliance: int = 0


def measure(engine: Engine, sizes: Sizes, now: datetime) -> Timings:
    t = Timings([], [], [], [])
    today = local_date(now)
    year_ago = today - timedelta(days=365)
    with Session(engine) as session:
        for _ in range(2):  # warm the connection and caches
            session.execute(text("SELECT 1"))
            views.breached_and_due_soon(session, within_days=7, area="lanarkshire", now=now)
        for _ in range(sizes.repeats):
            for area in AREAS:
                timed(t.select_1, lambda: session.execute(text("SELECT 1")).scalar())
                found = timed(
                    t.ops_area,
                    lambda area=area: views.breached_and_due_soon(session, within_days=7, area=area, now=now),
                )
                t.rows_ops = max(t.rows_ops, len(found.breached) + len(found.due_soon))
                report = timed(
                    t.compliance,
                    lambda area=area: views.compliance(
                        session, area=area, period_start=year_ago, period_end=today, now=now
                    ),
                )
                t.rows_compliance = max(t.rows_compliance, sum(r.fell_due for r in report.rows))
            timed(t.ops_national, lambda: views.breached_and_due_soon(session, within_days=7, now=now))
            session.rollback()
    return t


def explain(engine: Engine, now: datetime) -> str:
    """PostgreSQL's plan for the area-scoped breaches query, to say which index it uses."""
    with engine.connect() as connection:
        plan = connection.execute(
            text(
                "EXPLAIN SELECT case_ref FROM ledger_deadlines WHERE area = :area AND "
                "(state = 'breached' OR (state = 'open' AND due_at <= :now)) ORDER BY due_at LIMIT 1000"
            ),
            {"area": "lanarkshire", "now": now},
        ).scalars()
        return " / ".join(line.strip() for line in plan if "Index" in line or "Scan" in line)


def add_figures(result: Result, database: str, t: Timings) -> None:
    base = percentile(t.select_1, 95)
    result.add(
        Figure(
            f"{database}: breached + due ≤7 days, one area, p95",
            percentile(t.ops_area, 95),
            "ms",
            base,
            "SELECT 1",
            f"p95 < {P95_TARGET_MS:.0f} ms" if database == "postgresql" else None,
            percentile(t.ops_area, 95) < P95_TARGET_MS if database == "postgresql" else None,
        )
    )
    result.add(
        Figure(
            f"{database}: breached + due ≤7 days, one area, p50",
            percentile(t.ops_area, 50),
            "ms",
            percentile(t.select_1, 50),
            "SELECT 1",
        )
    )
    result.add(
        Figure(
            f"{database}: breached + due ≤7 days, all areas, p95",
            percentile(t.ops_national, 95),
            "ms",
            base,
            "SELECT 1",
        )
    )
    result.add(
        Figure(
            f"{database}: compliance report, one area, 12 months, p95",
            percentile(t.compliance, 95),
            "ms",
            base,
            "SELECT 1",
        )
    )
    result.notes.append(
        f"{database}: {len(t.ops_area)} area queries; at most {t.rows_ops} rows listed (breached + due soon, "
        f"each list capped at {views.LIST_LIMIT}); compliance counted up to {t.rows_compliance} deadlines "
        "fallen due in an area's 12 months"
    )


def run(full: bool = False) -> Result:
    sizes = FULL if full else SMALL
    result = Result(
        "ops-query",
        "Ops queries over the deadline ledger (store/views.py)",
        {
            "cases": sizes.cases,
            "deadlines": sizes.cases * sizes.deadlines_per_case,
            "repeats_per_area": sizes.repeats,
        },
    )
    now = datetime.now(UTC)
    server = postgres_server_url()
    if server is None:
        result.notes.append("PostgreSQL not answering on 127.0.0.1:5432: PostgreSQL figures not measured")
    else:
        with postgres_schema(server, "bench_ops") as url:
            engine = make_engine(url)
            try:
                upgrade(engine)
                started = time.perf_counter()
                load_postgresql(url, sizes, now)
                result.notes.append(
                    f"postgresql: loaded with COPY + ANALYZE in {time.perf_counter() - started:.0f} s"
                )
                add_figures(result, "postgresql", measure(engine, sizes, now))
                result.notes.append(f"postgresql plan (breaches, one area): {explain(engine, now)}")
            finally:
                engine.dispose()
    with tempfile.TemporaryDirectory(prefix="mappa-bench-ops-") as directory:
        engine = make_engine(f"sqlite:///{Path(directory) / 'ledger.db'}")
        try:
            upgrade(engine)
            started = time.perf_counter()
            load_sqlite(engine, sizes, now)
            result.notes.append(
                f"sqlite: loaded with executemany + ANALYZE in {time.perf_counter() - started:.0f} s"
            )
            add_figures(result, "sqlite", measure(engine, sizes, now))
        finally:
            engine.dispose()
    return result
