"""The person key: which cases are the same person's, without holding anything that names them.

A keyed HMAC-SHA256 of the subject's normalised identity (name and date of birth; a ViSOR reference too, where the
opening carries one), under keys derived from the payload key ring (core.codec), so it reads nothing a stolen
database alone could reverse. It is stored only in our `person_links` table: never a search attribute, a workflow
id, a log line or a metric. Every key in the ring is tried when looking up (a rotation keeps old links found); a
new link is written under the current key. This module is the one place that computes it.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from datetime import date

from core.codec import KeyRing

_PURPOSE = b"mappa person key v1"


def _normalised(text: str) -> str:
    """Case, accents, spacing and punctuation do not make another person: "O'Brien, Seán" is "obrien sean"."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).casefold()
    words = "".join(c if c.isalnum() else " " if c.isspace() else "" for c in plain).split()
    return " ".join(words)


def identities(name: str, date_of_birth: date, visor_ref: str | None = None) -> list[str]:
    """What identifies a person, normalised: name and date of birth, and the ViSOR reference if known."""
    found = [f"name-dob:{_normalised(name)}:{date_of_birth.isoformat()}"]
    if visor_ref:
        found.append(f"visor:{_normalised(visor_ref).replace(' ', '')}")
    return found


def _derived(key: bytes) -> bytes:
    # A key of its own for this purpose: the payload key itself never meets this MAC.
    return hmac.new(key, _PURPOSE, hashlib.sha256).digest()


def person_keys(
    ring: KeyRing, name: str, date_of_birth: date, visor_ref: str | None = None
) -> dict[str, list[str]]:
    """Each key id of the ring (the current one first) with the person's keys under it."""
    order = [ring.current, *(k for k in ring.keys if k != ring.current)]
    return {
        key_id: [
            hmac.new(_derived(ring.keys[key_id]), identity.encode(), hashlib.sha256).hexdigest()
            for identity in identities(name, date_of_birth, visor_ref)
        ]
        for key_id in order
    }
