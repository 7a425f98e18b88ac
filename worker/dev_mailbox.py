"""`make dev`'s mail relay: a local SMTP server that keeps every message in data/mailbox/ and prints a line.

Development only: it lets a newcomer see the reminders and escalations the cases send, without a real relay.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import re
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class Mailbox:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.count = len(list(folder.glob("*.eml")))

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        raw = raw if isinstance(raw, bytes) else raw.encode()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        self.count += 1
        subject = str(message["Subject"] or "")
        name = re.sub(r"[^A-Za-z0-9-]+", "-", subject)[:80].strip("-")
        (self.folder / f"{self.count:05d}-{name}.eml").write_bytes(raw)
        print(f"to {', '.join(envelope.rcpt_tos)}: {subject}", flush=True)
        return "250 kept in the development mailbox"


async def serve(host: str, port: int, folder: Path) -> None:
    controller = Controller(Mailbox(folder), hostname=host, port=port)
    controller.start()
    print(f"development mail relay on {host}:{port}; messages kept in {folder}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--folder", type=Path, default=Path("data/mailbox"))
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.folder))


if __name__ == "__main__":
    main()
