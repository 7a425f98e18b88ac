"""Minutes and their disclosures, as stored: encrypted at rest, checked against their digest when opened.

A minute's content and executive summary are sealed under the payload keys, each bound to its row and part;
the case's workflow history holds only the minute's reference and digest. A disclosure is decided once: the
decision is a conditional update, so of two chairs deciding at the same moment exactly one wins.
Who may read or share what is the core's (workflows/rules/confidentiality.py); the API applies it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import string
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.codec import CodecKeyError, KeyRing
from store.models import DisclosedPart, DisclosureStatus, Minute, MinuteDisclosure
from workflows.rules import events as ev
from workflows.rules.case import CaseFile
from workflows.rules.confidentiality import meeting_of

MINUTE_REF_PATTERN = r"^MIN-[A-Z0-9]{12}$"
DISCLOSURE_REF_PATTERN = r"^DIS-[A-Z0-9]{16}$"
_REF_ALPHABET = string.ascii_uppercase + string.digits

LongText = Annotated[str, Field(min_length=1, max_length=20_000)]

STANDARD_CONFIDENTIALITY_STATEMENT = (
    "The information shared at this meeting is confidential. It is shared to assess and manage risk under "
    "MAPPA and will not be disclosed beyond the agencies present without the chair's permission."
)


class MinuteIntegrityError(Exception):
    """A stored minute that does not open, or does not match its digest: never returned."""

    def __init__(self, minute_ref: str, detail: str):
        super().__init__(f"minute {minute_ref}: {detail}")
        self.minute_ref = minute_ref
        self.detail = detail


class MinuteAttendee(ev.Event):
    agency: ev.AgencyId
    representative: ev.ShortText = Field(description="Who attended for the agency.")
    role: ev.ShortText = "representative"
    signed_confidentiality_statement: bool = Field(
        description="Every person present signs the confidentiality statement at each meeting (003)."
    )

    @property
    def name(self) -> str:
        """The person present (each signs for themself, not for their agency)."""
        return self.representative


class MinuteContent(ev.Event):
    """A meeting's minute, as the chair records it."""

    held_on: date
    chair_agency: ev.AgencyId
    attendees: list[MinuteAttendee] = Field(min_length=1, max_length=40)
    confidentiality_statement: LongText = STANDARD_CONFIDENTIALITY_STATEMENT
    risk_assessment: LongText
    critical_risk_factors: list[ev.ShortText] = Field(min_length=1, max_length=40)
    rmp_actions: list[ev.RmpActionSet] = Field(
        default_factory=list, max_length=60, description="The risk management plan: action, owner, when."
    )
    contingency_plan: LongText
    not_to_be_shared: list[ev.NotToBeShared] = Field(
        default_factory=list, max_length=60, description="Information not to be shared, each with its reason."
    )
    conclusions: LongText = Field(
        description="The meeting's conclusions: with the actions, the executive summary (002)."
    )

    @property
    def attending_agencies(self) -> list[str]:
        return sorted({a.agency for a in self.attendees})

    def canonical(self) -> bytes:
        """The bytes the digest is taken over and that are stored (encrypted): sorted, compact JSON."""
        document = self.model_dump(mode="json")
        return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class ExecutiveSummary(BaseModel):
    """Conclusions and actions only: what may go to child protection or another third party (002)."""

    minute_ref: str
    case_ref: str
    held_on: date
    chair_agency: str
    conclusions: str
    actions: list[ev.RmpActionSet]


def _random_ref(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice(_REF_ALPHABET) for _ in range(length))


def new_minute_ref() -> str:
    return _random_ref("MIN-", 12)


def new_disclosure_ref() -> str:
    return _random_ref("DIS-", 16)


def _associated_data(minute_ref: str, part: str) -> bytes:
    # Binds each ciphertext to its row and column: content cannot be moved to another minute unnoticed.
    return f"minute:{minute_ref}:{part}".encode()


# ------------------------------------------------------------------------------------------ minutes


def minute_digest(content: MinuteContent) -> str:
    """sha256 of the minute's canonical content: what the case's history records beside its reference."""
    return hashlib.sha256(content.canonical()).hexdigest()


def store_minute(
    session: Session,
    keys: KeyRing,
    case_ref: str,
    area: str,
    content: MinuteContent,
    recorded_by: str,
    meeting_id: str | None = None,
    minute_ref: str | None = None,
) -> tuple[Minute, bool]:
    """Store the minute, sealed, for the meeting `meeting_id`: (the row, True). A meeting has one row: when
    another filing for it got there first, nothing is stored and its row is returned: (that row, False). The
    database decides, so of two filings at the same moment exactly one row is stored."""
    minute_ref = minute_ref or new_minute_ref()
    canonical = content.canonical()
    summary = ExecutiveSummary(
        minute_ref=minute_ref,
        case_ref=case_ref,
        held_on=content.held_on,
        chair_agency=content.chair_agency,
        conclusions=content.conclusions,
        actions=content.rmp_actions,
    )
    key_id, sealed_content = keys.encrypt(canonical, _associated_data(minute_ref, "content"))
    _, sealed_summary = keys.encrypt(
        summary.model_dump_json().encode(), _associated_data(minute_ref, "executive-summary")
    )
    row = Minute(
        minute_ref=minute_ref,
        case_ref=case_ref,
        meeting_id=meeting_id,
        area=area,
        held_on=content.held_on,
        chair_agency=content.chair_agency,
        attendees=content.attending_agencies,
        key_id=key_id,
        content=sealed_content,
        executive_summary=sealed_summary,
        digest=hashlib.sha256(canonical).hexdigest(),
        recorded_by=recorded_by,
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        first = minute_of_meeting(session, case_ref, meeting_id) if meeting_id is not None else None
        if first is None:
            raise
        return first, False
    return row, True


def minute_of_meeting(session: Session, case_ref: str, meeting_id: str) -> Minute | None:
    """The minute stored for the meeting, filed or on its way to being filed."""
    return session.scalars(
        select(Minute).where(Minute.case_ref == case_ref, Minute.meeting_id == meeting_id)
    ).one_or_none()


def load_minute(session: Session, minute_ref: str) -> Minute | None:
    return session.scalars(select(Minute).where(Minute.minute_ref == minute_ref)).one_or_none()


def open_content(keys: KeyRing, row: Minute, case: CaseFile | None) -> MinuteContent:
    """Decrypt the minute and check it against its digest, in our table and in the case's history."""
    try:
        canonical = keys.decrypt(row.key_id, row.content, _associated_data(row.minute_ref, "content"))
    except CodecKeyError as error:
        raise MinuteIntegrityError(row.minute_ref, str(error)) from None
    digest = hashlib.sha256(canonical).hexdigest()
    meeting = meeting_of(case, row.minute_ref)
    if digest != row.digest or (meeting is not None and meeting.minute_digest != digest):
        raise MinuteIntegrityError(
            row.minute_ref, "its content does not match the digest recorded in the case history"
        )
    return MinuteContent.model_validate_json(canonical)


def open_summary(keys: KeyRing, row: Minute) -> ExecutiveSummary:
    try:
        plain = keys.decrypt(
            row.key_id, row.executive_summary, _associated_data(row.minute_ref, "executive-summary")
        )
    except CodecKeyError as error:
        raise MinuteIntegrityError(row.minute_ref, str(error)) from None
    return ExecutiveSummary.model_validate_json(plain)


# ------------------------------------------------------------------------------------------ disclosures


def granted_disclosure(
    session: Session, minute_ref: str, agency_id: str | None, parts: tuple[DisclosedPart, ...], now: datetime
) -> MinuteDisclosure | None:
    """The recipient's granted, unexpired disclosure of one of `parts` that lasts longest, if any."""
    if agency_id is None:
        return None
    rows = session.scalars(
        select(MinuteDisclosure).where(
            MinuteDisclosure.minute_ref == minute_ref,
            MinuteDisclosure.recipient_agency == agency_id,
            MinuteDisclosure.status == DisclosureStatus.GRANTED.value,
            MinuteDisclosure.what.in_([p.value for p in parts]),
        )
    ).all()
    live = [r for r in rows if r.expires_at is not None and r.expires_at > now]
    return max(live, key=lambda r: r.expires_at or now, default=None)


def load_disclosure(session: Session, disclosure_ref: str) -> MinuteDisclosure | None:
    return session.scalars(
        select(MinuteDisclosure).where(MinuteDisclosure.disclosure_ref == disclosure_ref)
    ).one_or_none()


def decide_once(
    session: Session,
    row: MinuteDisclosure,
    *,
    granted: bool,
    decided_by: str,
    decided_by_agency: str | None,
    reason: str,
    at: datetime,
    expires_at: datetime | None,
    items_shared: list[str] | None,
) -> bool:
    """Record the decision only if the disclosure is still undecided; False if another decision got there
    first. A conditional update: the database, not this process, makes the decision happen once. Not committed:
    the caller commits it with its audit row."""
    result = session.execute(
        update(MinuteDisclosure)
        .where(
            MinuteDisclosure.id == row.id,
            MinuteDisclosure.status == DisclosureStatus.REQUESTED.value,
        )
        .values(
            status=(DisclosureStatus.GRANTED if granted else DisclosureStatus.REFUSED).value,
            decided_by=decided_by,
            decided_by_agency=decided_by_agency,
            decided_at=at,
            decision_reason=reason,
            expires_at=expires_at,
            items_shared=items_shared,
        )
        .execution_options(synchronize_session=False)
    )
    won = int(getattr(result, "rowcount", 0) or 0) == 1
    session.refresh(row)
    return won
