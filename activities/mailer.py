"""Sending one e-mail through the mail relay (SMTP)."""

from __future__ import annotations

import contextlib
import hashlib
import smtplib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
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


def compose(
    sender: str,
    to: Sequence[str],
    subject: str,
    body: str,
    *,
    message_id: str,
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """A plain-text message. A non-ASCII word of the subject is encoded (RFC 2047), the rest stays readable in the
    raw header (the case reference, BREACHED...), as recipients' filters and the tests read it."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message


def message_id_for(key: str, sender: str) -> str:
    """A Message-ID that is the same for every attempt to send the notice `key`, so a recipient's mail system
    can recognise a resend after a lost acknowledgement as the same message."""
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<notice.{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


class Pacer:
    """At most `rate` sends a second from every thread of this process together, spaced evenly: a relay that
    limits its clients' rate (typically answering 421 or 451 beyond it) then never refuses a notice for it, and
    a surge of escalations (every deadline falls due at the end of a working day) queues here instead of
    failing and coming back as retries. No rate: no waiting."""

    def __init__(
        self,
        rate: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Take the next free slot, sleeping until it comes."""
        if not self.rate:
            return
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + 1 / self.rate
        if slot > now:
            self._sleep(slot - now)


class SmtpMailer:
    """Blocking SMTP (stdlib smtplib), safe to call from many activity threads at once.

    Connections are pooled for the worker's life: a notice borrows an idle connection (opening one only when
    none is idle), sends, and gives it back, so most notices cost one SMTP transaction instead of a TCP
    connect, EHLO, the transaction and QUIT. A connection idle longer than `max_idle_seconds` is closed
    rather than reused (relays drop idle clients, typically after five minutes). A send that fails on a
    borrowed connection is tried once more on a fresh one: the relay may have dropped it while idle. That
    retry can, rarely, resend a message the relay took before the connection broke; every attempt carries
    the notice's Message-ID, as every activity retry does, so the recipient's mail system can drop it.

    With `rate_per_second` the sends are paced (`Pacer`) under the relay's limit for this worker.
    """

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        timeout: float = 10.0,
        *,
        max_idle: int = 16,
        max_idle_seconds: float = 60.0,
        rate_per_second: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout
        self.max_idle = max_idle
        self.max_idle_seconds = max_idle_seconds
        self._clock = clock
        self._idle: list[tuple[smtplib.SMTP, float]] = []  # (connection, when it was last used)
        self._lock = threading.Lock()
        self.connections_opened = 0  # for tests and benchmarks: how many TCP connections were made
        self.pacer = Pacer(rate_per_second)

    def send(
        self,
        to: Sequence[str],
        subject: str,
        body: str,
        *,
        message_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        message = compose(self.sender, to, subject, body, message_id=message_id, headers=headers)
        self.pacer.wait()
        smtp, reused = self._borrow()
        try:
            smtp.send_message(message, from_addr=self.sender, to_addrs=list(to))
        except BaseException as error:
            # A refusal (SMTPRecipientsRefused, SMTPDataError...) may leave the dialogue mid-way: never reuse.
            _close(smtp)
            if not (reused and _dropped(error)):
                raise
            smtp = self._connect()
            try:
                smtp.send_message(message, from_addr=self.sender, to_addrs=list(to))
            except BaseException:
                _close(smtp)
                raise
        self._give_back(smtp)

    def close(self) -> None:
        """Close every idle connection (QUIT); connections in use are closed when given back after this."""
        with self._lock:
            idle, self._idle = self._idle, []
            self.max_idle = 0
        for smtp, _ in idle:
            _quit(smtp)

    def _borrow(self) -> tuple[smtplib.SMTP, bool]:
        now = self._clock()
        stale: list[smtplib.SMTP] = []
        found: smtplib.SMTP | None = None
        with self._lock:
            while self._idle:
                smtp, used_at = self._idle.pop()
                if now - used_at <= self.max_idle_seconds:
                    found = smtp
                    break
                stale.append(smtp)
        for smtp in stale:
            _close(smtp)
        if found is not None:
            return found, True
        return self._connect(), False

    def _connect(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        self.connections_opened += 1
        return smtp

    def _give_back(self, smtp: smtplib.SMTP) -> None:
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append((smtp, self._clock()))
                return
        _quit(smtp)


def _dropped(error: BaseException) -> bool:
    """The connection was gone (closed or reset by the relay), as opposed to a refusal or a slow relay."""
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return True
    return isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException | TimeoutError)


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        _close(smtp)


def _close(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError):
        smtp.close()
