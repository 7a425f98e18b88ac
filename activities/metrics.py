"""What the worker's activities count, for Prometheus: breaches, reminders and escalations sent, delivery
failures, and how late escalations came after the deadline fell due.

The worker serves `REGISTRY` on `MAPPA_METRICS_PORT` (`worker.assembly.serve_activity_metrics`); the
Temporal SDK's own metrics are on `MAPPA_SDK_METRICS_PORT`. A registry of its own keeps these off the API's
`/metrics`, which gauges the ledger instead.

Labels are bounded: a deadline kind (the policy's `DeadlineKind`), an area id, an escalation kind. Never a
case reference (one series per case would grow without bound) and never anything about a person.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

from workflows.messages import Notice, NoticeKind
from workflows.rules.policy import UnknownArea, area_policy

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

# A reminder or escalation whose deadline kind cannot be told (it always should be) is counted under this.
UNKNOWN_KIND = "unknown"

DEADLINE_BREACHES = Counter(
    "mappa_deadline_breaches",
    "Deadlines breached (first escalation to the co-ordinator), by deadline kind and area.",
    ["kind", "area"],
    registry=REGISTRY,
)
REMINDERS_SENT = Counter(
    "mappa_reminders_sent",
    "Reminders sent to the responsible agency before a deadline, by deadline kind.",
    ["kind"],
    registry=REGISTRY,
)
ESCALATIONS_SENT = Counter(
    "mappa_escalations_sent",
    "Breach escalations and re-escalations sent, by deadline kind.",
    ["kind"],
    registry=REGISTRY,
)
DELIVERY_FAILURES = Counter(
    "mappa_notification_delivery_failures",
    "Attempts to hand a notice to the mail relay that failed (each is retried until it succeeds).",
    registry=REGISTRY,
)
# First escalations come seconds after the due time (timer and worker latency); re-escalations follow every
# few working days while a breach stays open, so the buckets run from a second to a month.
ESCALATION_LATENESS = Histogram(
    "mappa_escalation_lateness_seconds",
    "Escalation time minus the deadline's due time, by escalation kind (breach-escalation, re-escalation).",
    ["escalation"],
    buckets=(1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 86400, 2 * 86400, 4 * 86400, 7 * 86400, 30 * 86400),
    registry=REGISTRY,
)


def deadline_kind_of(notice: Notice) -> str:
    """The kind of deadline a reminder or escalation is about, as a label value (`unknown` if none fits).

    A Notice names its deadline by id, which does not tell a level 2 from a level 3 meeting or review, and
    its title, which the case file makes from the deadline's title: "BREACHED: initial level 2 meeting",
    "reminder: ...", "still breached: ... (escalation 2)". The title is matched against the titles of the
    area's rules, longest first (a risk management plan action's title goes on with the action's words).
    """
    if notice.deadline_kind is not None:
        return notice.deadline_kind.value
    # Notices raised before they carried their deadline's kind: tell it from the title.
    _, _, title = notice.title.partition(": ")
    try:
        titles = _titles_longest_first(notice.area)
    except UnknownArea:
        return UNKNOWN_KIND
    return next((kind for rule_title, kind in titles if title.startswith(rule_title)), UNKNOWN_KIND)


@lru_cache(maxsize=64)
def _titles_longest_first(area: str) -> tuple[tuple[str, str], ...]:
    policy = area_policy(area)
    titles = [(policy.rule(kind).title, kind.value) for kind in policy.policy.rules]
    return tuple(sorted(titles, key=lambda pair: len(pair[0]), reverse=True))


def escalation_recorded(notice: Notice, escalated_at: datetime) -> None:
    """Count an escalation once, when the ledger first records it (a retried activity is not a new breach)."""
    if notice.kind is NoticeKind.BREACH_ESCALATION:
        DEADLINE_BREACHES.labels(kind=deadline_kind_of(notice), area=notice.area).inc()
    if notice.due_at is not None:
        # An AP1 referral missed by holding the meeting first is breached before it is due: lateness 0.
        lateness = max(0.0, (escalated_at - notice.due_at).total_seconds())
        ESCALATION_LATENESS.labels(escalation=notice.kind.value).observe(lateness)


def notice_sent(notice: Notice) -> None:
    if notice.kind is NoticeKind.REMINDER:
        REMINDERS_SENT.labels(kind=deadline_kind_of(notice)).inc()
    elif notice.kind in (NoticeKind.BREACH_ESCALATION, NoticeKind.RE_ESCALATION):
        ESCALATIONS_SENT.labels(kind=deadline_kind_of(notice)).inc()
