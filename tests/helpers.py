"""Helpers shared by tests in every folder: `from tests.helpers import unique_task_queue, SmtpSink`."""

import asyncio
import email
from email.message import Message
from typing import Any
from uuid import uuid4

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from bench.rig import free_port

__all__ = ["SmtpSink", "free_port", "unique_task_queue"]


def unique_task_queue() -> str:
    """One task queue per test, so a worker from one test never picks up another test's workflow."""
    return f"test-{uuid4()}"


class _RecordingHandler:
    """Keeps every message delivered, with the envelope sender and recipients as X- headers."""

    def __init__(self, messages: list[Message]) -> None:
        self.messages = messages

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        message = email.message_from_bytes(raw if isinstance(raw, bytes) else raw.encode())
        message["X-MailFrom"] = str(envelope.mail_from)
        message["X-RcptTo"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)  # list.append is atomic: safe from the controller's thread
        return "250 Message accepted for delivery"


class SmtpSink:
    """A real SMTP server on 127.0.0.1 that records what it receives.

    `stop()` and `start()` take it down and bring it back on the same port, for fault drills
    (notifications must be retried, not lost, while the relay is away). Messages survive a restart.
    """

    host = "127.0.0.1"

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[Message] = []
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is not None:
            return
        # A controller cannot be restarted (its loop closes on stop); a fresh one binds the same port.
        # server_hostname avoids socket.getfqdn(), which can stall on a machine without DNS.
        controller = Controller(
            _RecordingHandler(self.messages), hostname=self.host, port=self.port, server_hostname="localhost"
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Message]:
        """Wait until at least `count` messages have arrived; fail with what did arrive."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.messages) < count:
            if loop.time() >= deadline:
                subjects = [message["Subject"] for message in self.messages]
                raise AssertionError(
                    f"expected {count} message(s) within {timeout}s, got {len(self.messages)}: {subjects}"
                )
            await asyncio.sleep(0.05)
        return list(self.messages)

    def __enter__(self) -> "SmtpSink":
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
