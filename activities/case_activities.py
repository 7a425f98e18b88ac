"""The activities the case workflow calls, by the names in `workflows.messages` (ACTIVITY_FOR_NOTICE,
RECORD_IN_LEDGER).

They are synchronous and the worker runs them in a thread pool (`worker.assembly.build_worker`): the
database (SQLAlchemy, sync) and the mail relay (smtplib) are blocking clients, and a thread per activity keeps
them off the worker's event loop without a second, async, stack of both.

A notice is delivered at least once and, barring a crash (or a lost commit) between the relay accepting it and
the outbox recording that, exactly once: every attempt carries the same Message-ID, so a recipient's mail system can
drop the rare duplicate.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import ledger, metrics, outbox
from activities.mailer import Mailer, message_id_for
from activities.notices import ESCALATIONS, NoticeTemplates
from core.codec import KeyRing
from store.chronology import write_entries
from store.directory import resolve_recipient
from store.models import OutboxStatus, utcnow
from workflows.messages import RECORD_IN_LEDGER, LedgerUpdate, LedgerWritten, Notice, NoticeDelivered
from workflows.rules.calendar import local_date


class CaseActivities:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        mailer: Mailer,
        *,
        templates: NoticeTemplates | None = None,
        clock: Callable[[], datetime] = utcnow,
        keys: KeyRing | None = None,
    ) -> None:
        self._sessions = sessions
        self._keys = keys  # seal the chronology's entries (store/chronology.py)
        self._mailer = mailer
        self._templates = templates or NoticeTemplates()
        self._clock = clock
        # One transaction per notice where the database locks rows (PostgreSQL): the outbox row is written,
        # the message sent and the row marked sent before a single commit. SQLite locks the whole database
        # for a write transaction, so there the send stays outside it (two short transactions).
        bind = sessions.kw.get("bind")
        self._send_within_transaction = bind is not None and bind.dialect.name != "sqlite"

    def all(self) -> list[Callable[..., Any]]:
        """Every activity, for the worker to register."""
        return [
            self.acknowledge_referral,
            self.send_decision,
            self.request_record_search,
            self.send_reminder,
            self.send_notice,
            self.escalate_breach,
            self.record_in_ledger,
        ]

    # ------------------------------------------------------------------ notices

    @activity.defn(name="acknowledge_referral")
    def acknowledge_referral(self, notice: Notice) -> NoticeDelivered:
        """Confirm receipt of a referral to the referring agency (001)."""
        return self._deliver(notice)

    @activity.defn(name="send_decision")
    def send_decision(self, notice: Notice) -> NoticeDelivered:
        """Tell the referring agency the co-ordinator's decision, with reasons if not accepted (003)."""
        return self._deliver(notice)

    @activity.defn(name="request_record_search")
    def request_record_search(self, notice: Notice) -> NoticeDelivered:
        """Ask an agency's single point of contact to search its records (003)."""
        return self._deliver(notice)

    @activity.defn(name="send_reminder")
    def send_reminder(self, notice: Notice) -> NoticeDelivered:
        """Remind the responsible agency that a deadline is approaching."""
        return self._deliver(notice)

    @activity.defn(name="send_notice")
    def send_notice(self, notice: Notice) -> NoticeDelivered:
        """Any other notice: further information requests, routing to an information sharing meeting."""
        return self._deliver(notice)

    @activity.defn(name="escalate_breach")
    def escalate_breach(self, notice: Notice) -> NoticeDelivered:
        """Escalate a breached deadline to the co-ordinator (or, when it stays breached, the chair), and
        record the escalation in the ledger with how late it came."""
        if notice.kind not in ESCALATIONS:
            raise ApplicationError(
                f"escalate_breach sends breach escalations, not {notice.kind.value} notices",
                type="WrongNoticeKind",
                non_retryable=True,
            )
        return self._deliver(notice, escalation=True)

    def _deliver(self, notice: Notice, escalation: bool = False) -> NoticeDelivered:
        now = self._clock()
        first_escalation = False
        failure: Exception | None = None
        sent_now = False
        with self._sessions.begin() as session:
            # 1. Write the notice down (once), resolving its recipients as the directory stood when the case
            # raised it. The row stays locked until this transaction ends: a concurrent attempt at the same
            # notice (a retry after a timeout) waits here, then finds it sent.
            row = outbox.find(session, notice.key, lock=True)
            if row is None:
                recipient = resolve_recipient(
                    session,
                    notice.area,
                    notice.to,
                    local_date(notice.raised_at or now),
                    passes_over=notice.passes_over,
                )
                rendered = self._templates.render(notice, recipient.note)
                row = outbox.write_notice(session, notice, recipient.addresses, rendered, now)
            if escalation:
                first_escalation = ledger.write_escalation(session, notice, now)
            if row.status != OutboxStatus.SENT.value and self._send_within_transaction:
                # 2 and 3 in the same transaction: send, then mark it sent (or note the failure) before the
                # one commit. Should the commit fail after the relay took the message, the retry sends it
                # again with the same Message-ID, as after a crash between send and mark.
                failure = self._send(notice, row.subject, row.body, outbox.addresses_of(row))
                if failure is None:
                    outbox.mark_sent(session, row.id, self._clock())
                    sent_now = True
                else:
                    outbox.record_failure(session, row.id, failure)
        if first_escalation:
            metrics.escalation_recorded(notice, now)
        addresses = outbox.addresses_of(row)
        delivered = NoticeDelivered(key=notice.key, recipients=addresses, outbox_id=row.id)
        log = {"case_ref": notice.case_ref, "notice_key": notice.key, "notice_kind": notice.kind.value}
        if row.status == OutboxStatus.SENT.value and not sent_now:
            activity.logger.info("%s notice %s already sent", notice.kind.value, notice.key, extra=log)
            return delivered

        if not self._send_within_transaction:
            # SQLite: its one write lock must not be held across a network call, so the send comes after
            # the commit and the mark in a second transaction.
            failure = self._send(notice, row.subject, row.body, addresses)
            with self._sessions.begin() as session:
                if failure is None:
                    outbox.mark_sent(session, row.id, self._clock())
                else:
                    outbox.record_failure(session, row.id, failure)

        if failure is not None:
            metrics.DELIVERY_FAILURES.inc()
            activity.logger.warning(
                "%s notice %s not sent; will retry", notice.kind.value, notice.key, extra=log
            )
            # Retryable: the workflow's retry policy keeps trying until the relay takes it.
            raise ApplicationError(
                f"mail relay did not accept notice {notice.key}: {type(failure).__name__}: {failure}",
                type="MailRelayUnavailable",
            ) from failure
        metrics.notice_sent(notice)
        activity.logger.info("%s notice %s sent", notice.kind.value, notice.key, extra=log)
        return delivered

    def _send(self, notice: Notice, subject: str, body: str, addresses: list[str]) -> Exception | None:
        """Hand the notice to the mail relay; the error if it did not take it."""
        try:
            self._mailer.send(
                addresses,
                subject,
                body,
                message_id=message_id_for(notice.key, self._mailer.sender),
                headers={"X-MAPPA-Case-Ref": notice.case_ref, "X-MAPPA-Notice-Key": notice.key},
            )
        except Exception as error:
            return error
        return None

    # ------------------------------------------------------------------ ledger

    @activity.defn(name=RECORD_IN_LEDGER)
    def record_in_ledger(self, update: LedgerUpdate) -> LedgerWritten:
        """Write the case's position, its changed deadlines and its chronology's new entries, one row per fact."""
        if update.entries and self._keys is None:
            # Retryable: a worker started without the payload keys cannot seal them; one with them will.
            raise ApplicationError("the chronology's entries need the payload keys", type="NoPayloadKeys")
        with self._sessions.begin() as session:
            ledger.write_case(session, update.case, self._clock())
            ledger.write_transfers(session, update.case, self._clock())
            ledger.write_deadlines(session, update.case, update.deadlines)
            if update.entries and self._keys is not None:
                write_entries(session, self._keys, update.case.case_ref, update.case.area, update.entries)
        activity.logger.info(
            "ledger: %d deadline(s) of %s written",
            len(update.deadlines),
            update.case.case_ref,
            extra={"case_ref": update.case.case_ref},
        )
        return LedgerWritten(deadlines_written=len(update.deadlines))
