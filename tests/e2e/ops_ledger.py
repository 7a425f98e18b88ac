"""Ledger rows for the ops API and page tests, written the way a case's workflow writes them: a real case
file takes its events, and the real `record_in_ledger` activity records what changed."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from activities.case_activities import CaseActivities
from activities.mailer import SmtpMailer
from core.database import session_factory
from tests.case_builders import SUBJECT
from tests.helpers import free_port
from workflows.messages import CaseSummary, LedgerUpdate
from workflows.rules import events as ev
from workflows.rules.calendar import Jurisdiction
from workflows.rules.case import CaseFile
from workflows.rules.imported_row import ImportedPosition

# Monday 2 March 2026, 10:00: long enough ago that everything the case owed is overdue now.
LONG_AGO = datetime(2026, 3, 2, 10, tzinfo=UTC)
# Friday 13 March 2026, 09:00: Lanarkshire goes live, importing its cases in progress.
GO_LIVE = datetime(2026, 3, 13, 9, tzinfo=UTC)


def case_ref(area_code: str = "LAN") -> str:
    return f"MAPPA-{area_code}-2026-{secrets.token_hex(3).upper()}"


def _record(engine: Engine, case: CaseFile) -> None:
    # Ledger writes send no mail: the relay is a closed port.
    activities = CaseActivities(
        session_factory(engine), SmtpMailer("127.0.0.1", free_port(), "ops@example.gov.uk")
    )
    activities.record_in_ledger(LedgerUpdate(case=CaseSummary.of(case), deadlines=case.take_ledger_pending()))


def _referral(ref: str, area: str, at: datetime) -> CaseFile:
    opening = ev.CaseOpening(
        case_ref=ref,
        area=area,
        jurisdiction=Jurisdiction.SCOTLAND,
        category=1,
        lead_agency="police-scotland-lanarkshire",
        subject=SUBJECT,
        referral=ev.ReferralSubmitted(referring_agency="police-scotland-lanarkshire", level_sought=2),
    )
    return CaseFile.open(opening, at)


def breached_record_search(engine: Engine, area: str = "lanarkshire") -> str:
    """A case accepted in March whose record search by NHS Lanarkshire was never returned: breached."""
    ref = case_ref("LAN" if area == "lanarkshire" else "GLA")
    case = _referral(ref, area, LONG_AGO)
    case.apply(
        ev.ReferralDecision(outcome="accepted", level=2, record_search_agencies=["nhs-lanarkshire"]),
        LONG_AGO + timedelta(hours=3),
    )
    _record(engine, case)
    case.tick(datetime(2026, 3, 11, 10, tzinfo=UTC))
    _record(engine, case)
    return ref


def referral_just_received(engine: Engine) -> str:
    """A referral received an hour ago: its ASP screening and decision fall due within days."""
    ref = case_ref()
    case = _referral(ref, "lanarkshire", datetime.now(UTC) - timedelta(hours=1))
    _record(engine, case)
    return ref


def imported_unscreened_referral(engine: Engine) -> str:
    """A Lanarkshire case imported at go-live (Fri 13 March) with its referral received Mon 9 March and neither
    screened (due Tue 10, 12:00) nor decided (due Thu 12): both already past at go-live, still breached."""
    ref = case_ref()
    opening = ev.CaseOpening(
        case_ref=ref,
        area="lanarkshire",
        jurisdiction=Jurisdiction.SCOTLAND,
        category=1,
        lead_agency="police-scotland-lanarkshire",
        subject=SUBJECT,
    )
    position = ImportedPosition(
        import_ref=f"LAN-2026-{ref[-5:]}",
        stage="referral",
        referral_received_on=datetime(2026, 3, 9).date(),
        referring_agency="police-scotland-lanarkshire",
        level_sought=2,
        as_of=GO_LIVE,
    )
    _record(engine, CaseFile.open(opening, GO_LIVE, imported=position))
    return ref
