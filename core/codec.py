"""Encryption of everything personal we hand to Temporal or keep at rest: AES-256-GCM with named keys.

`KeyRing` holds every key still needed to read old data and the id of the one that encrypts new data, so a
key can be rotated: add a new key, make it current, keep the old one for as long as anything written under
it is kept (case histories, continued-as-new state, minutes). Each ciphertext names its key.

`EncryptionCodec` is the Temporal payload codec built on it, used by the worker, the API, the CLI and the
tests alike (`core.converter`): the Temporal server only ever stores ciphertext.

The key file (`python -m worker.devkeys` writes one) is JSON:
    {"current": "dev-1", "keys": {"dev-1": "<base64 of 32 random bytes>"}}
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    ActivitySerializationContext,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
# The workflow a payload belongs to (a case reference, never personal data), when the SDK says: it lets the
# codec endpoint audit a decode against the case and refuse a user outside the case's area.
WORKFLOW_ID_METADATA = "workflow-id"
NONCE_BYTES = 12
KEY_BYTES = 32


class CodecKeyError(Exception):
    """The keys are missing, malformed, or do not include the one a ciphertext names."""


class UnknownKeyError(CodecKeyError):
    def __init__(self, key_id: str, known: Sequence[str]) -> None:
        super().__init__(
            f"payload was encrypted with key {key_id!r}, which is not in the key ring "
            f"(known: {', '.join(sorted(known)) or 'none'}); keep retired keys in the key file after a rotation"
        )
        self.key_id = key_id


class DecryptionError(CodecKeyError):
    """The ciphertext does not authenticate under its key: altered, truncated or moved from elsewhere."""


@dataclass(frozen=True)
class KeyRing:
    keys: Mapping[str, bytes]
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise CodecKeyError(f"the current key {self.current!r} is not among the keys")
        for key_id, key in self.keys.items():
            if len(key) != KEY_BYTES:
                raise CodecKeyError(f"key {key_id!r} is {len(key)} bytes; AES-256 keys are {KEY_BYTES}")

    @classmethod
    def from_document(cls, document: Any, source: str = "the codec keys") -> Self:
        """From the key file's JSON document (already parsed)."""
        if not isinstance(document, dict) or not isinstance(document.get("keys"), dict):
            raise CodecKeyError(f'{source}: expected {{"current": ID, "keys": {{ID: base64, ...}}}}')
        current = document.get("current")
        if not isinstance(current, str):
            raise CodecKeyError(f'{source}: "current" must name the key that encrypts new data')
        keys: dict[str, bytes] = {}
        for key_id, encoded in document["keys"].items():
            try:
                keys[key_id] = base64.b64decode(str(encoded), validate=True)
            except (binascii.Error, ValueError):
                raise CodecKeyError(f"{source}: key {key_id!r} is not base64") from None
        try:
            return cls(keys, current)
        except CodecKeyError as error:
            raise CodecKeyError(f"{source}: {error}") from None

    def encrypt(self, plaintext: bytes, associated_data: bytes = b"") -> tuple[str, bytes]:
        """(key id, nonce + ciphertext) under the current key. A fresh random nonce every time."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, plaintext, associated_data)
        return self.current, nonce + sealed

    def decrypt(self, key_id: str, blob: bytes, associated_data: bytes = b"") -> bytes:
        key = self.keys.get(key_id)
        if key is None:
            raise UnknownKeyError(key_id, list(self.keys))
        try:
            return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated_data)
        except InvalidTag:
            raise DecryptionError(f"ciphertext under key {key_id!r} does not authenticate") from None


def load_keys(path: Path) -> KeyRing:
    """The key ring in a key file; a clear error when it is missing or malformed."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CodecKeyError(
            f"no payload encryption key file at {path}: run `make dev-prepare` (development) or set "
            "MAPPA_CODEC_KEY_FILE / MAPPA_CODEC_KEYS"
        ) from None
    except OSError as error:
        raise CodecKeyError(f"cannot read the key file {path}: {error.strerror}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise CodecKeyError(f"{path} is not JSON ({error.msg})") from None
    return KeyRing.from_document(document, str(path))


def keys_document(keys: Mapping[str, bytes], current: str) -> str:
    """The key file's text for these keys (the inverse of `load_keys`)."""
    encoded = {key_id: base64.b64encode(key).decode("ascii") for key_id, key in keys.items()}
    return json.dumps({"current": current, "keys": encoded}, indent=2) + "\n"


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    """Encrypts each whole payload (metadata and data) under the key ring's current key.

    The encrypted payload says only `encoding: binary/encrypted`, the key id and, when known, the workflow
    (case reference) it belongs to. Payloads that are not encrypted pass through decode unchanged (search
    attributes, or anything written before encryption was switched on).
    """

    def __init__(self, keys: Mapping[str, bytes] | KeyRing, current: str | None = None) -> None:
        if isinstance(keys, KeyRing):
            self.key_ring = keys
        else:
            if current is None:
                raise CodecKeyError("name the current key")
            self.key_ring = KeyRing(dict(keys), current)
        self.workflow_id: str | None = None

    def with_context(self, context: SerializationContext) -> Self:
        workflow_id = None
        if isinstance(context, WorkflowSerializationContext | ActivitySerializationContext):
            workflow_id = context.workflow_id
        if workflow_id == self.workflow_id:
            return self
        copy = type(self)(self.key_ring)
        copy.workflow_id = workflow_id
        return copy

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt_payload(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt_payload(p) for p in payloads]

    def encrypt_payload(self, payload: Payload) -> Payload:
        # The case reference is authenticated with the ciphertext: a payload cannot be passed off as another
        # case's (or as no case's) to get round the codec endpoint's per-area check.
        workflow_id = (self.workflow_id or "").encode()
        key_id, blob = self.key_ring.encrypt(payload.SerializeToString(), workflow_id)
        metadata = {"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()}
        if workflow_id:
            metadata[WORKFLOW_ID_METADATA] = workflow_id
        return Payload(metadata=metadata, data=blob)

    def decrypt_payload(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode()
        if not key_id:
            raise CodecKeyError("encrypted payload does not name its key")
        workflow_id = payload.metadata.get(WORKFLOW_ID_METADATA, b"")
        return Payload.FromString(self.key_ring.decrypt(key_id, payload.data, workflow_id))


def is_encrypted(payload: Payload) -> bool:
    return payload.metadata.get("encoding") == ENCODING


def payloads_in(message: Message) -> list[Payload]:
    """Every Payload inside a protobuf message (a history event, a whole history), depth first."""
    found: list[Payload] = []
    if isinstance(message, Payload):
        return [message]
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        is_map = field.message_type.GetOptions().map_entry
        if is_map:
            values = list(value.values())
        elif field.is_repeated:
            values = list(value)
        else:
            values = [value]
        for item in values:
            if isinstance(item, Message):
                found.extend(payloads_in(item))
    return found


async def decode_in_place(message: Message, codec: PayloadCodec) -> None:
    """Decode every payload inside `message` (e.g. a saved history, so it can be kept in plain JSON)."""
    for payload in payloads_in(message):
        (decoded,) = await codec.decode([payload])
        if decoded is not payload:
            payload.CopyFrom(decoded)
