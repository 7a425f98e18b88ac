"""The person links on SQLite and PostgreSQL, built by the migrations: a person's cases are found by the keyed
digest of their identity, across a key rotation, and the table holds nothing that names them."""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.codec import KeyRing
from core.person_key import person_keys
from store.models import PersonLink
from store.person_links import add_links, cases_of, linked_case_refs
from workflows.rules.events import SubjectDetails

PERSON = SubjectDetails(name="Seán O'Brien", date_of_birth=date(1980, 2, 29), address="1 Example Road")
SAME = SubjectDetails(name="sean  obrien", date_of_birth=date(1980, 2, 29), address="elsewhere")
OTHER = SubjectDetails(name="Sean O'Brien", date_of_birth=date(1980, 3, 1), address="1 Example Road")


def _ring(*ids: str) -> KeyRing:
    return KeyRing({i: secrets.token_bytes(32) for i in ids}, ids[-1])


def test_a_persons_cases_are_linked_and_another_persons_are_not(engine: Engine) -> None:
    ring = _ring("key-1")
    with Session(engine) as session:
        add_links(session, ring, "MAPPA-LAN-2020-AAAAAA", "lanarkshire", PERSON)
        add_links(session, ring, "MAPPA-GLA-2026-BBBBBB", "glasgow", SAME)
        add_links(session, ring, "MAPPA-LAN-2026-CCCCCC", "lanarkshire", OTHER)
        session.commit()
        assert linked_case_refs(session, "MAPPA-GLA-2026-BBBBBB") == [
            ("MAPPA-LAN-2020-AAAAAA", "lanarkshire")
        ]
        assert linked_case_refs(session, "MAPPA-LAN-2026-CCCCCC") == []
        assert [ref for ref, _ in cases_of(session, ring, PERSON)] == [
            "MAPPA-LAN-2020-AAAAAA",
            "MAPPA-GLA-2026-BBBBBB",
        ]
        stored = " ".join(session.scalars(select(PersonLink.person_key)).all())
    assert "brien" not in stored.lower() and "1980" not in stored


def test_a_case_opened_after_a_key_rotation_still_meets_the_earlier_one(engine: Engine) -> None:
    old = _ring("key-1")
    rotated = KeyRing({**old.keys, "key-2": secrets.token_bytes(32)}, "key-2")
    with Session(engine) as session:
        add_links(session, old, "MAPPA-LAN-2020-AAAAAA", "lanarkshire", PERSON)
        add_links(session, rotated, "MAPPA-LAN-2026-BBBBBB", "lanarkshire", SAME)
        session.commit()
        assert linked_case_refs(session, "MAPPA-LAN-2026-BBBBBB") == [
            ("MAPPA-LAN-2020-AAAAAA", "lanarkshire")
        ]
    assert list(person_keys(rotated, PERSON.name, PERSON.date_of_birth)) == ["key-2", "key-1"]
