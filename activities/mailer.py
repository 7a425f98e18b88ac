"""Sending one e-mail through the mail relay (SMTP)."""

from __future__ import annotations

import hashlib
import smtplib
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol


class Mailer(Protocol):
    sender: str  # the From address; its domain also names the notices' Message-IDs

    def send(
        self,
        to: Sequence[str],
        subject: str,
        body: str,
        *,
        message_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> None: ...


def message_id_for(key: str, sender: str) -> str:
    """A Message-ID that is the same for every attempt to send the notice `key`, so a recipient's mail system
    can recognise a resend after a lost acknowledgement as the same message."""
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<notice.{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


class SmtpMailer:
    """Blocking SMTP (stdlib smtplib): one connection per message. Call it from a worker thread."""

    def __init__(self, host: str, port: int, sender: str, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout

    def send(
        self,
        to: Sequence[str],
        subject: str,
        body: str,
        *,
        message_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = message_id
        for name, value in (headers or {}).items():
            message[name] = value
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(message, from_addr=self.sender, to_addrs=list(to))
