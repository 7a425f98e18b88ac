"""Real case files for integration tests: the notices and ledger updates they produce are the shapes the
workflow sends to the activities."""

from datetime import UTC, date, datetime, timedelta

from workflows.messages import CaseSummary, LedgerUpdate, Notice, NoticeKind
from workflows.rules import events as ev
from workflows.rules.calendar import Jurisdiction
from workflows.rules.case import CaseFile

# Personal data that must never reach an e-mail, the outbox or the ledger.
SUBJECT = ev.SubjectDetails(
    name="Jonathan Testsubject",
    date_of_birth=date(1979, 5, 17),
    address="14 Hypothetical Road, Motherwell",
    visor_ref="VISOR-0000-TEST",
)
PERSONAL_DATA = ("Jonathan", "Testsubject", "1979", "Hypothetical Road", "Motherwell", "VISOR-0000-TEST")

# Monday 2 March 2026, 10:00 (GMT): a level 2 referral arrives in Lanarkshire.
REFERRAL_RECEIVED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
REFERRAL_ACCEPTED = REFERRAL_RECEIVED + timedelta(hours=3)
# Thursday 5 March, 10:00: the record search reminders (due end of Mon 9 March) have gone out.
RECORD_SEARCH_REMINDED = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
# Wednesday 11 March, 10:00: the record searches are overdue and escalated to the co-ordinator.
RECORD_SEARCH_BREACHED = datetime(2026, 3, 11, 10, 0, tzinfo=UTC)


def lanarkshire_referral(case_ref: str = "MAPPA-LAN-2026-0001") -> CaseFile:
    """A category 1 case in Lanarkshire, opened by a level 2 referral from justice social work."""
    opening = ev.CaseOpening(
        case_ref=case_ref,
        area="lanarkshire",
        jurisdiction=Jurisdiction.SCOTLAND,
        category=1,
        lead_agency="police-scotland-lanarkshire",
        subject=SUBJECT,
        referral=ev.ReferralSubmitted(referring_agency="lanarkshire-justice-social-work", level_sought=2),
    )
    return CaseFile.open(opening, REFERRAL_RECEIVED)


def accept_with_record_searches(case: CaseFile, *agencies: str) -> None:
    case.apply(
        ev.ReferralDecision(
            outcome="accepted", level=2, record_search_agencies=list(agencies or ("nhs-lanarkshire", "sps"))
        ),
        REFERRAL_ACCEPTED,
    )


def ledger_update(case: CaseFile) -> LedgerUpdate:
    """What the workflow writes after an event: the case's position and the deadlines that changed."""
    return LedgerUpdate(case=CaseSummary.of(case), deadlines=case.take_ledger_pending())


def notices_of(case: CaseFile, kind: NoticeKind) -> list[Notice]:
    return [notice for notice in case.take_outbox() if notice.kind is kind]


def record_search_reminder(agency: str = "nhs-lanarkshire") -> Notice:
    case = lanarkshire_referral()
    accept_with_record_searches(case, agency)
    case.take_outbox()
    case.tick(RECORD_SEARCH_REMINDED)
    (reminder,) = notices_of(case, NoticeKind.REMINDER)
    return reminder


def record_search_breach() -> Notice:
    case = lanarkshire_referral()
    accept_with_record_searches(case, "nhs-lanarkshire")
    case.tick(RECORD_SEARCH_BREACHED)
    escalations = [
        n for n in notices_of(case, NoticeKind.BREACH_ESCALATION) if n.deadline_id != "asp-screening"
    ]
    (escalation,) = escalations
    return escalation
