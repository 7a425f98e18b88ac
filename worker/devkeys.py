"""Create the development payload-encryption key file, once.

    python -m worker.devkeys [PATH]      # default: data/dev-codec.key

Writes `{"current": "dev-1", "keys": {"dev-1": "<base64 of 32 random bytes>"}}` readable by the owner only.
An existing file is never overwritten: payloads already stored in Temporal were encrypted with it. A
deployment makes its key with `python3 -m core.keyfile create` (the same file, a dated key id).
"""

import argparse
import sys
from pathlib import Path

from core.keyfile import create_key_file

DEFAULT_KEY_FILE = Path("data/dev-codec.key")
KEY_ID = "dev-1"


def create_dev_key_file(path: Path) -> bool:
    """Write a fresh AES-256 key file at `path`; return False, touching nothing, if it already exists."""
    return create_key_file(path, KEY_ID) is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_KEY_FILE)
    path: Path = parser.parse_args(argv).path
    if create_dev_key_file(path):
        print(f"created development codec key {path} (key id {KEY_ID!r})")
    else:
        print(f"kept existing codec key {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
