"""The demo's live tokens go to a file only its owner can read, never to standard output (the stack's log)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from cli.demo import DEMO_USERS, LoadedCase, print_summary, write_demo_tokens


def test_demo_tokens_are_written_for_the_owner_only_and_never_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tokens = {user.key: f"mappa_live-token-of-{user.key}" for user in DEMO_USERS}
    path = tmp_path / "data" / "demo-tokens.json"
    path.parent.mkdir()
    path.write_text("left by an earlier run")
    path.chmod(0o644)

    written = write_demo_tokens(tokens, path)
    print_summary([LoadedCase("demo", "a story", "MAPPA-LAN-2026-AAAAAA")], written, "http://localhost:8000")

    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert json.loads(written.read_text())["lan-co"]["token"] == "mappa_live-token-of-lan-co"
    printed = capsys.readouterr().out
    assert "mappa_live-token" not in printed and str(written) in printed
