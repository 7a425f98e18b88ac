"""A case's chronology and the area's annual figures over HTTP, with Temporal unreachable (both read our database
only): both formats, who may export them, and the audit row each export leaves."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from activities.case_activities import CaseActivities
from activities.mailer import SmtpMailer
from api.app import create_app
from core.converter import key_ring_for
from core.database import session_factory
from core.settings import Settings
from store.models import AuditEvent
from tests.e2e.api_rig import database, issue_tokens
from tests.e2e.ops_ledger import _referral, case_ref
from tests.helpers import free_port
from workflows.messages import CaseSummary, LedgerUpdate
from workflows.rules import events as ev
from workflows.rules.actors import Actor, Role

pytestmark = pytest.mark.timeout(60)

ACCEPTED = datetime(2026, 5, 4, 13, tzinfo=UTC)  # Monday 4 May 2026: in the reporting year 2026/27
CO = Actor(role=Role.CO_ORDINATOR, agency="lanarkshire-justice-social-work")


@dataclass
class Http:
    http: httpx.AsyncClient
    engine: Engine
    tokens: dict[str, str]

    async def get(self, path: str, user: str, **params: str) -> httpx.Response:
        return await self.http.get(
            path, params=params, headers={"Authorization": f"Bearer {self.tokens[user]}"}
        )

    def audit(self, action: str) -> list[AuditEvent]:
        with Session(self.engine) as session:
            return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all())


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Http]:
    url, engine = database(tmp_path)
    # Temporal is never asked: the address is deliberately unreachable.
    app = create_app(Settings(database_url=url, temporal_address="127.0.0.1:1"), engine=engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://mappa.test"
    ) as http:
        yield Http(http, engine, issue_tokens(engine))
    engine.dispose()


def an_accepted_case(engine: Engine, area: str = "lanarkshire") -> str:
    """A case opened by referral and accepted at level 2 with the co-ordinator's reasons, written as its workflow
    writes it: the ledger and the chronology's entries through the real ledger activity."""
    ref = case_ref("LAN" if area == "lanarkshire" else "GLA")
    case = _referral(ref, area, ACCEPTED - timedelta(hours=3))
    case.apply(
        ev.ReferralDecision(
            outcome="accepted",
            level=2,
            record_search_agencies=["nhs-lanarkshire"],
            level_2_cannot_deliver="=cmd|' /C calc'!A0",
            sent_by=CO,
        ),
        ACCEPTED,
    )
    activities = CaseActivities(
        session_factory(engine),
        SmtpMailer("127.0.0.1", free_port(), "ops@example.gov.uk"),
        keys=key_ring_for(Settings()),
    )
    update = LedgerUpdate(
        case=CaseSummary.of(case), deadlines=case.take_ledger_pending(), entries=case.take_chronology()
    )
    activities.record_in_ledger(update)
    activities.record_in_ledger(update)  # a retried write
    return ref


async def test_the_co_ordinator_exports_the_chronology_as_a_printable_page_and_as_csv_each_audited(
    api: Http,
) -> None:
    ref = an_accepted_case(api.engine)

    page = await api.get(f"/cases/{ref}/chronology", "lan-co")
    sheet = await api.get(f"/cases/{ref}/chronology.csv", "lan-co")

    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "@media print" in page.text and f"Chronology of {ref}" in page.text
    assert "Referral decision" in page.text and "lanarkshire-justice-social-work (co-ordinator)" in page.text
    assert sheet.status_code == 200, sheet.text
    rows = list(csv.DictReader(io.StringIO(sheet.text)))
    events = [r for r in rows if r["section"] == "event"]
    assert [r["what"] for r in events] == ["Case opened", "Referral decision"]  # once each, retried or not
    assert {r["reference"] for r in rows if r["section"] == "deadline"} >= {
        "referral-decision",
        "record-search:nhs-lanarkshire",
    }
    assert "level_2_cannot_deliver: =cmd" in events[1]["detail"]
    assert all(not cell.startswith("=") for r in rows for cell in r.values())
    trail = api.audit("export a case's chronology")
    assert [(a.user_name, a.case_ref, a.target, a.outcome) for a in trail] == [
        ("test lan-co", ref, "chronology:html", "allowed"),
        ("test lan-co", ref, "chronology:csv", "allowed"),
    ]


async def test_the_chronology_is_refused_outside_the_area_and_to_an_agency_worker(api: Http) -> None:
    ref = an_accepted_case(api.engine)

    other_area = await api.get(f"/cases/{ref}/chronology.csv", "gla-co")
    agency_worker = await api.get(f"/cases/{ref}/chronology", "lan-nhs")
    no_such_case = await api.get("/cases/MAPPA-LAN-2026-NOSUCH/chronology", "lan-co")

    assert other_area.status_code == 403 and "area" in other_area.json()["rule"]
    assert agency_worker.status_code == 403
    assert no_such_case.status_code == 404
    refused = [(a.user_name, a.outcome) for a in api.audit("export a case's chronology")]
    assert refused == [("test gla-co", "refused"), ("test lan-nhs", "refused"), ("test lan-co", "refused")]


async def test_ops_read_the_annual_figures_of_their_area_as_a_page_and_csv(api: Http) -> None:
    an_accepted_case(api.engine)
    an_accepted_case(api.engine, area="glasgow")

    page = await api.get("/ops/figures", "lan-ops", year="2026")
    sheet = await api.get("/ops/figures.csv", "lan-ops", year="2026")
    by_a_co_ordinator = await api.get("/ops/figures.csv", "lan-co", year="2026")
    elsewhere = await api.get("/ops/figures.csv", "lan-ops", area="glasgow", year="2026")

    assert page.status_code == 200, page.text
    assert "Annual MAPPA figures 2026/27" in page.text
    assert sheet.status_code == 200, sheet.text
    rows = {
        (r["measure"], r["category"], r["level"]): r["count"] for r in csv.DictReader(io.StringIO(sheet.text))
    }
    # One Lanarkshire case, opened by referral and accepted at level 2 in May 2026 (Glasgow's is not counted).
    assert rows[("referrals", "", "")] == "1"
    assert rows[("cases at 31 March", "1", "2")] == "1"
    assert rows[("cases at 31 March, all", "", "")] == "1"
    assert by_a_co_ordinator.status_code == 403
    assert elsewhere.status_code == 403
    trail = [(a.user_name, a.target, a.outcome) for a in api.audit("read the area's annual MAPPA figures")]
    assert ("test lan-ops", "figures:lanarkshire:2026:html", "allowed") in trail
    assert ("test lan-ops", "figures:lanarkshire:2026:csv", "allowed") in trail
    assert ("test lan-co", "figures:lanarkshire:2026:csv", "refused") in trail
