"""A deployment's payload encryption key file: made once with a bare python3, extended and switched for a
rotation, always private to its owner, and always a document core.codec reads."""

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.codec import load_keys
from core.keyfile import KeyFileError, add_key, create_key_file, dated_key_id, use_key

REPO = Path(__file__).resolve().parents[2]


def test_the_key_is_made_by_a_bare_python_from_a_checkout_and_never_replaced(tmp_path: Path) -> None:
    key_file = tmp_path / "secrets" / "codec.key"
    # -S -E: no site-packages, no PYTHON* variables: only the standard library and the checkout itself.
    command = [sys.executable, "-S", "-E", "-m", "core.keyfile", "create", str(key_file)]

    first = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
    original = key_file.read_text()
    again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)

    assert "created payload encryption key file" in first.stdout and "development" not in first.stdout
    assert "kept the existing key file" in again.stdout
    assert key_file.read_text() == original
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    ring = load_keys(key_file)
    assert ring.current.startswith("key-") and list(ring.keys) == [ring.current]


def test_a_rotation_adds_a_key_then_makes_it_current_keeping_the_old_one(tmp_path: Path) -> None:
    key_file = tmp_path / "codec.key"
    first = create_key_file(key_file)
    assert first is not None

    second = add_key(key_file)
    assert load_keys(key_file).current == first  # nothing is written with it until every process knows it
    use_key(key_file, second)

    ring = load_keys(key_file)
    assert ring.current == second and set(ring.keys) == {first, second}
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_a_key_not_in_the_file_cannot_be_made_current(tmp_path: Path) -> None:
    key_file = tmp_path / "codec.key"
    create_key_file(key_file)
    before = key_file.read_text()
    with pytest.raises(KeyFileError, match="has no key 'key-1999-01-01'"):
        use_key(key_file, "key-1999-01-01")
    assert key_file.read_text() == before
    with pytest.raises(KeyFileError, match="does not exist"):
        add_key(tmp_path / "absent.key")


def test_two_keys_made_on_one_day_get_distinct_ids() -> None:
    day = datetime(2026, 12, 4, tzinfo=UTC)
    assert dated_key_id(set(), day) == "key-2026-12-04"
    assert dated_key_id({"key-2026-12-04"}, day) == "key-2026-12-04-2"
    assert dated_key_id({"key-2026-12-04", "key-2026-12-04-2"}, day) == "key-2026-12-04-3"


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_changed_key_file_stays_owned_by_the_containers_user(tmp_path: Path) -> None:
    key_file = tmp_path / "codec.key"
    create_key_file(key_file)
    os.chown(key_file, 10001, 10001)
    add_key(key_file)
    assert (key_file.stat().st_uid, key_file.stat().st_gid) == (10001, 10001)
    assert json.loads(key_file.read_text())["current"]
