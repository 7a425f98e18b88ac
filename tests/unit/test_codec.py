"""The payload codec: AES-GCM under named keys, rotation, and loud refusals when a key is missing."""

from __future__ import annotations

import json
import re
import secrets
import string
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.history.v1 import History, HistoryEvent, WorkflowExecutionStartedEventAttributes
from temporalio.converter import WorkflowSerializationContext

from api.app import create_app
from api.case_service import CASE_REF_PATTERN
from api.routes.codec import AREA_WORKFLOWS, Owner, owner_of, ui_origins
from core.codec import (
    ENCODING,
    KEY_ID_METADATA,
    WORKFLOW_ID_METADATA,
    CodecKeyError,
    DecryptionError,
    EncryptionCodec,
    KeyRing,
    UnknownKeyError,
    decode_in_place,
    is_encrypted,
    keys_document,
    load_keys,
    payloads_in,
)
from core.converter import data_converter_for
from core.settings import Settings
from worker import main as worker_main
from worker.devkeys import create_dev_key_file
from workflows.digest import schedule_id
from workflows.rules.policy import AREAS

SUBJECT = b'{"name":"Alasdair Testperson","date_of_birth":"1979-05-17"}'


def plain(data: bytes = SUBJECT) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


def ring(*key_ids: str, current: str | None = None) -> KeyRing:
    return KeyRing({k: secrets.token_bytes(32) for k in key_ids}, current or key_ids[-1])


async def test_an_encrypted_payload_names_its_key_and_hides_everything_else() -> None:
    codec = EncryptionCodec(ring("k1"))
    (encrypted,) = await codec.encode([plain()])

    assert dict(encrypted.metadata) == {"encoding": ENCODING, KEY_ID_METADATA: b"k1"}
    assert b"Testperson" not in encrypted.SerializeToString()
    assert b"json/plain" not in encrypted.SerializeToString()  # the inner metadata is encrypted too
    assert await codec.decode([encrypted]) == [plain()]


async def test_each_encryption_uses_a_fresh_nonce() -> None:
    codec = EncryptionCodec(ring("k1"))
    first, second = await codec.encode([plain(), plain()])
    assert first.data != second.data


async def test_after_a_rotation_old_payloads_still_decode_and_new_ones_use_the_new_key() -> None:
    old = ring("k1")
    (written_before,) = await EncryptionCodec(old).encode([plain()])

    rotated = EncryptionCodec(KeyRing({**old.keys, "k2": secrets.token_bytes(32)}, "k2"))
    (written_after,) = await rotated.encode([plain()])

    assert written_after.metadata[KEY_ID_METADATA] == b"k2"
    assert await rotated.decode([written_before, written_after]) == [plain(), plain()]


async def test_a_payload_under_a_key_no_longer_held_is_refused_by_name() -> None:
    (encrypted,) = await EncryptionCodec(ring("retired")).encode([plain()])
    with pytest.raises(UnknownKeyError, match=r"key 'retired', which is not in the key ring \(known: k2\)"):
        await EncryptionCodec(ring("k2")).decode([encrypted])


async def test_altered_ciphertext_does_not_decode() -> None:
    codec = EncryptionCodec(ring("k1"))
    (encrypted,) = await codec.encode([plain()])
    tampered = Payload(
        metadata=encrypted.metadata, data=encrypted.data[:-1] + bytes([encrypted.data[-1] ^ 1])
    )
    with pytest.raises(DecryptionError):
        await codec.decode([tampered])


async def test_unencrypted_payloads_pass_through_decode() -> None:
    search_attribute = Payload(metadata={"encoding": b"json/plain", "type": b"Keyword"}, data=b'"referral"')
    assert await EncryptionCodec(ring("k1")).decode([search_attribute]) == [search_attribute]


async def test_a_payload_written_for_a_case_names_the_case_in_its_metadata() -> None:
    codec = EncryptionCodec(ring("k1")).with_context(
        WorkflowSerializationContext(namespace="mappa", workflow_id="MAPPA-LAN-2026-ABC123")
    )
    (encrypted,) = await codec.encode([plain()])
    assert encrypted.metadata[WORKFLOW_ID_METADATA] == b"MAPPA-LAN-2026-ABC123"
    assert await codec.decode([encrypted]) == [plain()]


async def test_a_payload_cannot_be_passed_off_as_another_case_s_or_as_no_case_s() -> None:
    codec = EncryptionCodec(ring("k1"))
    (encrypted,) = await codec.with_context(
        WorkflowSerializationContext(namespace="mappa", workflow_id="MAPPA-GLA-2026-ABC123")
    ).encode([plain()])
    relabelled = Payload(metadata=encrypted.metadata, data=encrypted.data)
    relabelled.metadata[WORKFLOW_ID_METADATA] = b"MAPPA-LAN-2026-ABC123"
    stripped = Payload(metadata=encrypted.metadata, data=encrypted.data)
    del stripped.metadata[WORKFLOW_ID_METADATA]
    for forged in (relabelled, stripped):
        with pytest.raises(DecryptionError):
            await codec.decode([forged])


def test_the_development_key_file_loads(tmp_path: Path) -> None:
    key_file = tmp_path / "dev-codec.key"
    create_dev_key_file(key_file)
    keys = load_keys(key_file)
    assert keys.current == "dev-1" and len(keys.keys["dev-1"]) == 32


def test_a_key_document_round_trips(tmp_path: Path) -> None:
    keys = ring("2025-q4", "2026-q1")
    key_file = tmp_path / "codec.key"
    key_file.write_text(keys_document(keys.keys, keys.current))
    assert load_keys(key_file) == keys


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not json", "is not JSON"),
        ('{"keys": {}}', '"current" must name'),
        ('{"current": "a", "keys": {"b": "AAAA"}}', "current key 'a' is not among the keys"),
        ('{"current": "a", "keys": {"a": "AAAA"}}', "AES-256 keys are 32"),
        ('{"current": "a", "keys": {"a": "not base64!"}}', "not base64"),
    ],
)
def test_a_malformed_key_file_is_refused_clearly(tmp_path: Path, document: str, message: str) -> None:
    key_file = tmp_path / "codec.key"
    key_file.write_text(document)
    with pytest.raises(CodecKeyError, match=message):
        load_keys(key_file)


def test_without_a_key_nothing_gets_a_converter(tmp_path: Path) -> None:
    with pytest.raises(CodecKeyError, match="make dev-prepare"):
        data_converter_for(Settings(codec_key_file=tmp_path / "absent.key"))


def test_keys_can_come_from_settings_instead_of_a_file() -> None:
    keys = ring("k1")
    settings = Settings(codec_keys=keys_document(keys.keys, keys.current))  # type: ignore[arg-type]
    codec = data_converter_for(settings).payload_codec
    assert isinstance(codec, EncryptionCodec) and codec.key_ring == keys


def test_production_accepts_keys_given_in_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAPPA_CODEC_KEY_FILE", raising=False)
    settings = Settings(
        environment="production",
        codec_keys=json.dumps({"current": "k", "keys": {"k": "SECRETKEYMATERIAL"}}),  # type: ignore[arg-type]
        database_url="postgresql+psycopg://mappa@db/mappa",
        smtp_host="relay",
        smtp_port=25,
        smtp_sender="mappa@example.gov.uk",
        public_api_url="https://mappa.example.gov.uk",
        ui_origin="https://temporal.mappa.example.gov.uk",
    )
    assert settings.codec_keys is not None and "SECRETKEYMATERIAL" not in repr(settings)  # never printed


async def test_every_payload_of_a_history_is_found_and_decoded_in_place() -> None:
    codec = EncryptionCodec(ring("k1"))
    history = History(
        events=[
            HistoryEvent(
                event_id=1,
                workflow_execution_started_event_attributes=WorkflowExecutionStartedEventAttributes(
                    input=Payloads(payloads=await codec.encode([plain()]))
                ),
            )
        ]
    )
    assert all(is_encrypted(p) for p in payloads_in(history))
    await decode_in_place(history, codec)
    assert [p.data for p in payloads_in(history)] == [SUBJECT]


async def test_the_worker_refuses_to_start_without_a_key(tmp_path: Path) -> None:
    settings = Settings(codec_key_file=tmp_path / "absent.key", database_url=f"sqlite:///{tmp_path / 'm.db'}")
    with pytest.raises(SystemExit, match="refusing to start: no payload encryption key file"):
        await worker_main.run(settings)
    assert not (tmp_path / "m.db").exists()  # refused before touching anything


async def test_the_api_refuses_to_start_without_a_key(tmp_path: Path) -> None:
    app = create_app(Settings(codec_key_file=tmp_path / "absent.key", temporal_address="127.0.0.1:1"))
    with pytest.raises(CodecKeyError, match="make dev-prepare"):
        async with app.router.lifespan_context(app):
            pass


def test_in_development_the_ui_may_be_opened_on_localhost_or_127_0_0_1() -> None:
    assert ui_origins(Settings(ui_origin="http://localhost:8233")) == [
        "http://127.0.0.1:8233",
        "http://localhost:8233",
    ]


# ------------------------------------------------------------------ whose payloads the codec endpoint decodes

AREA_IDS = st.sampled_from(sorted(AREAS))
RUN_SUFFIX = st.text(alphabet=string.ascii_letters + string.digits + "-:T", max_size=30)


@given(area=AREA_IDS, suffix=RUN_SUFFIX)
def test_a_weekly_digest_run_belongs_to_its_area(area: str, suffix: str) -> None:
    workflow_id = schedule_id(area) + (f"-{suffix}" if suffix else "")
    owner = owner_of(workflow_id)
    assert (owner.area, owner.case_ref) == (area, None)
    assert owner.workflow == f"weekly digest workflow {schedule_id(area)}"  # the run's own suffix not kept


@given(area=AREA_IDS, suffix=st.text(alphabet=string.ascii_uppercase + string.digits, min_size=6, max_size=6))
def test_a_case_belongs_to_the_area_its_reference_names(area: str, suffix: str) -> None:
    ref = f"MAPPA-{AREAS[area].code}-2026-{suffix}"
    assert owner_of(ref) == Owner(case_ref=ref, area=area)


@given(workflow_id=st.text(max_size=60))
def test_a_workflow_id_that_names_no_area_belongs_to_no_one(workflow_id: str) -> None:
    named = [
        a
        for a in AREAS
        for prefix in AREA_WORKFLOWS
        if workflow_id == prefix + a or workflow_id.startswith(f"{prefix}{a}-")
    ]
    assume(not named and not re.match(CASE_REF_PATTERN, workflow_id))
    assert owner_of(workflow_id).area is None
