"""The payload encryption key file: made, extended for a rotation, and switched to a new key.

    python3 -m core.keyfile create secrets/codec.key     # a new file with one key, never over an existing one
    python3 -m core.keyfile add secrets/codec.key        # a new key beside the others (step 1 of a rotation)
    python3 -m core.keyfile use secrets/codec.key ID     # make ID the key new data is written with (step 2)

The file is `{"current": "<id>", "keys": {"<id>": "<base64 of 32 random bytes>", ...}}` (read by core.codec),
readable by its owner only. Keys are never removed here: a key is needed for as long as anything written under
it is kept. Standard library only, so it runs with a bare `python3` from a checkout, before anything is installed.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import secrets
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

KEY_BYTES = 32


class KeyFileError(ValueError):
    """The key file cannot be changed as asked; the message says why."""


def new_key() -> str:
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def dated_key_id(existing: set[str], today: datetime | None = None) -> str:
    """`key-YYYY-MM-DD`, with `-2`, `-3`... when a key was already made that day."""
    base = f"key-{(today or datetime.now(UTC)):%Y-%m-%d}"
    key_id, n = base, 1
    while key_id in existing:
        n += 1
        key_id = f"{base}-{n}"
    return key_id


def _document(keys: dict[str, str], current: str) -> str:
    return json.dumps({"current": current, "keys": keys}, indent=2) + "\n"


def create_key_file(path: Path, key_id: str | None = None) -> str | None:
    """Write a new key file with one key; its id, or None (touching nothing) if the file already exists."""
    key_id = key_id or dated_key_id(set())
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL makes "never overwrite" atomic; the mode applies from creation, so the key is never
        # readable by others, not even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
    with os.fdopen(fd, "w", encoding="utf-8") as key_file:
        key_file.write(_document({key_id: new_key()}, key_id))
    return key_id


def _read(path: Path) -> tuple[dict[str, str], str]:
    try:
        document: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeyFileError(f"{path} does not exist: make it with `create`") from None
    except json.JSONDecodeError as error:
        raise KeyFileError(f"{path} is not JSON ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), dict):
        raise KeyFileError(f'{path}: expected {{"current": ID, "keys": {{ID: base64, ...}}}}')
    return dict(document["keys"]), str(document.get("current"))


def _replace(path: Path, text: str) -> None:
    """Write `text` to `path` in one step, keeping its owner (the containers' user) and mode 0600."""
    before = path.stat()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o600)
        # Only root may give the file back to the containers' user; otherwise it stays ours, as before.
        with contextlib.suppress(PermissionError):
            os.chown(temporary, before.st_uid, before.st_gid)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def add_key(path: Path) -> str:
    """Add a new key, leaving the current one as it is; the new key's id."""
    keys, current = _read(path)
    key_id = dated_key_id(set(keys))
    keys[key_id] = new_key()
    _replace(path, _document(keys, current))
    return key_id


def use_key(path: Path, key_id: str) -> None:
    """Make `key_id` (already in the file) the key new data is written with."""
    keys, _current = _read(path)
    if key_id not in keys:
        raise KeyFileError(f"{path} has no key {key_id!r}; add one first (`add`)")
    _replace(path, _document(keys, key_id))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m core.keyfile",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, help_text in (
        ("create", "a new key file with one key (never over an existing file)"),
        ("add", "add a new key; the current one stays current"),
        ("use", "make a key in the file the current one"),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("path", type=Path)
        if name == "use":
            action.add_argument("key_id")
    args = parser.parse_args(argv)
    try:
        if args.action == "create":
            created = create_key_file(args.path)
            if created is None:
                print(
                    f"kept the existing key file {args.path}: payloads already stored were encrypted with it"
                )
            else:
                print(f"created payload encryption key file {args.path} (key {created!r}); keep a copy safe")
        elif args.action == "add":
            print(f"added key {add_key(args.path)!r} to {args.path}; deploy it everywhere, then `use` it")
        else:
            use_key(args.path, args.key_id)
            print(f"{args.path}: new payloads are encrypted with {args.key_id!r}; deploy it everywhere")
    except KeyFileError as error:
        print(f"core.keyfile: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
