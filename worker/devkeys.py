"""Create the development payload-encryption key file, once.

    python -m worker.devkeys [PATH]      # default: data/dev-codec.key

Writes `{"current": "dev-1", "keys": {"dev-1": "<base64 of 32 random bytes>"}}` readable by the owner only.
An existing file is never overwritten: payloads already stored in Temporal were encrypted with it.
"""

import argparse
import base64
import json
import os
import secrets
import sys
from pathlib import Path

DEFAULT_KEY_FILE = Path("data/dev-codec.key")
KEY_ID = "dev-1"


def create_dev_key_file(path: Path) -> bool:
    """Write a fresh AES-256 key file at `path`; return False, touching nothing, if it already exists."""
    key = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
    document = json.dumps({"current": KEY_ID, "keys": {KEY_ID: key}}, indent=2) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL makes "never overwrite" atomic; the mode applies from creation, so the key is never
        # readable by others, not even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as key_file:
        key_file.write(document)
    return True


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
