"""The one data converter shared by the worker, the API, the CLI and the tests: pydantic JSON, then encrypted.

Pydantic models (and `datetime.date`) cross Temporal as JSON through the pydantic converter; every payload is
then encrypted by `core.codec.EncryptionCodec`, so the Temporal server stores no personal data in plaintext.
Failure messages and stack traces are moved into an encrypted payload too (a validation error can quote what
it refused). There is deliberately no unencrypted converter here: without a key nothing starts.
"""

from __future__ import annotations

import dataclasses
import json

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from core.codec import CodecKeyError, EncryptionCodec, KeyRing, load_keys
from core.settings import Settings


def key_ring_for(settings: Settings) -> KeyRing:
    """The configured keys: MAPPA_CODEC_KEYS if set, else the key file. Raises `CodecKeyError` if none."""
    if settings.codec_keys is not None:
        try:
            document = json.loads(settings.codec_keys.get_secret_value())
        except json.JSONDecodeError as error:
            raise CodecKeyError(f"MAPPA_CODEC_KEYS is not JSON ({error.msg})") from None
        return KeyRing.from_document(document, "MAPPA_CODEC_KEYS")
    if settings.codec_key_file is None:
        raise CodecKeyError("no payload encryption key: set MAPPA_CODEC_KEY_FILE or MAPPA_CODEC_KEYS")
    return load_keys(settings.codec_key_file)


def encrypting_data_converter(keys: KeyRing) -> DataConverter:
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def data_converter_for(settings: Settings) -> DataConverter:
    """The converter for these settings' keys; refuses loudly (`CodecKeyError`) when there is no key."""
    return encrypting_data_converter(key_ring_for(settings))
