"""Which agencies a case involves: what a national agency's token may see (api/auth.py).

An agency is involved in a case when it leads it, referred it, is invited to its next meeting, chaired or
attended one of its meetings, was sent its minutes, chairs its ASP side, or owes the case something (a record
search, a notification, an RMP action, a view on a subject access request): every deadline names the agency
responsible for it.

Pure: reads a case file's state, changes nothing.
"""

from __future__ import annotations

from workflows.rules.case_state import CaseState
from workflows.rules.records import CHAIR, CO_ORDINATOR

_ROLES = frozenset({CO_ORDINATOR, CHAIR})


def involved_agencies(case: CaseState) -> frozenset[str]:
    agencies = {case.lead_agency}
    if case.referral is not None:
        agencies.add(case.referral.referring_agency)
    if case.asp_chair_agency is not None:
        agencies.add(case.asp_chair_agency)
    for meeting in case.meetings:
        agencies |= {meeting.chair_agency, *meeting.attendees, *meeting.minutes_circulated_to}
    if case.scheduled_meeting is not None:
        agencies.update(case.scheduled_meeting.invited)
    for sar in case.subject_access_requests:
        agencies.update(sar.consulted)
    agencies |= {d.responsible for d in case.deadlines.values()}
    return frozenset(agencies - _ROLES)
