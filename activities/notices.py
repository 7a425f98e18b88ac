"""What a notice says: subject line and body, rendered from one Jinja2 template per kind of notice.

Messages name the case by its reference only. An e-mail carries the case reference, the deadline and where to
read the rest: never an agency's free text (a rejection's reasons, what information is missing), which may name
the subject. That stays in the encrypted case history, read through the audited case file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from workflows.messages import Notice, NoticeKind
from workflows.rules.calendar import local_due
from workflows.rules.policy import AREAS

TEMPLATES = Path(__file__).resolve().parent / "templates"
ESCALATIONS = frozenset({NoticeKind.BREACH_ESCALATION, NoticeKind.RE_ESCALATION})
# Notices that once carried an agency's own words in their lines. The core no longer puts them there (it keeps
# them in the case file); their lines are still never rendered, as a defence should that ever change.
WITH_FREE_TEXT = frozenset({NoticeKind.FURTHER_INFORMATION_REQUEST, NoticeKind.REFERRAL_DECISION})
WHERE_TO_READ = (
    "The details are recorded on the case, not in this message: read them in the case file in the MAPPA case "
    "system."
)


@dataclass(frozen=True)
class RenderedNotice:
    subject: str
    body: str


def template_name(kind: NoticeKind) -> str:
    return f"{kind.value}.txt.j2"


class NoticeTemplates:
    def __init__(self, directory: Path = TEMPLATES) -> None:
        # Plain text mail: no HTML escaping. StrictUndefined: a template naming a missing field fails loudly.
        self._env = Environment(
            loader=FileSystemLoader(directory),
            autoescape=False,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def render(self, notice: Notice, note: str | None = None) -> RenderedNotice:
        due = None
        if notice.due_at is not None:
            due = ("was due " if notice.kind in ESCALATIONS else "due ") + local_due(notice.due_at)
        area = AREAS.get(notice.area)
        context = {
            "key": notice.key,
            "kind": notice.kind.value,
            "case_ref": notice.case_ref,
            "area_name": area.name if area else notice.area,
            "title": notice.title,
            "lines": [WHERE_TO_READ] if notice.kind in WITH_FREE_TEXT else notice.lines,
            "due": due,
            "recipient": notice.to,
            "note": note,
        }
        subject = self._env.get_template("subject.txt.j2").render(context)
        body = self._env.get_template(template_name(notice.kind)).render(context)
        # A subject is one header line: fold any line breaks a title may carry.
        return RenderedNotice(subject=re.sub(r"\s+", " ", subject).strip(), body=body)
