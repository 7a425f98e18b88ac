"""The cases of one person (`person_links`): written when a case is reserved, read at screening.

The digests come from core/person_key.py, the one place that computes them; nothing here names the person.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.codec import KeyRing
from core.person_key import person_keys
from store.models import PersonLink
from workflows.rules.events import SubjectDetails


def add_links(session: Session, ring: KeyRing, case_ref: str, area: str, subject: SubjectDetails) -> None:
    """Link a case to its subject under every key of the ring (in the caller's transaction), so a case opened
    after a rotation still meets one opened before it."""
    keys = person_keys(ring, subject.name, subject.date_of_birth, subject.visor_ref)
    for key_id, digests in keys.items():
        for digest in digests:
            session.add(PersonLink(person_key=digest, key_id=key_id, case_ref=case_ref, area=area))


def linked_case_refs(session: Session, case_ref: str) -> list[tuple[str, str]]:
    """The other cases of the same person as `case_ref`, oldest link first: (case reference, area)."""
    mine = select(PersonLink.person_key).where(PersonLink.case_ref == case_ref)
    rows = session.execute(
        select(PersonLink.case_ref, PersonLink.area)
        .where(PersonLink.person_key.in_(mine), PersonLink.case_ref != case_ref)
        .order_by(PersonLink.id)
    ).all()
    return list(dict.fromkeys((row.case_ref, row.area) for row in rows))


def cases_of(session: Session, ring: KeyRing, subject: SubjectDetails) -> list[tuple[str, str]]:
    """The cases linked to a subject under any key of the ring (a rotation keeps old links found)."""
    digests = [
        d
        for ds in person_keys(ring, subject.name, subject.date_of_birth, subject.visor_ref).values()
        for d in ds
    ]
    rows = session.execute(
        select(PersonLink.case_ref, PersonLink.area)
        .where(PersonLink.person_key.in_(digests))
        .order_by(PersonLink.id)
    ).all()
    return list(dict.fromkeys((row.case_ref, row.area) for row in rows))
