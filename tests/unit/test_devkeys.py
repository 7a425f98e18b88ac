"""The development codec key is created once, private to its owner, and never replaced."""

import base64
import json
import stat
from pathlib import Path

from worker.devkeys import create_dev_key_file


def test_creates_a_private_256_bit_key(tmp_path: Path) -> None:
    key_file = tmp_path / "data" / "dev-codec.key"
    assert create_dev_key_file(key_file)

    document = json.loads(key_file.read_text())
    assert document["current"] == "dev-1"
    assert len(base64.b64decode(document["keys"]["dev-1"])) == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_never_overwrites_an_existing_key(tmp_path: Path) -> None:
    key_file = tmp_path / "dev-codec.key"
    create_dev_key_file(key_file)
    original = key_file.read_text()

    assert not create_dev_key_file(key_file)
    assert key_file.read_text() == original
