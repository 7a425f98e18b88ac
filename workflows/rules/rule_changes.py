"""Changes to the statutory rules that alter what a case already running would do.

A case lives for years, so a corrected rule cannot simply replace the old one: replaying a case's history under
the new rule would take a different path (another timer, another deadline) and break it. Each correction is
named here. A new case follows every name in force when it opens; the workflow records each with
`workflow.patched(name)`, so a history made before a correction replays under the old rule, and a running case
takes up the corrections at its next continue-as-new. The core asks `case.follows(NAME)` where the old and new
rule differ; code that handles a case which took a correction mid-life must cope with state made before it.
"""

from __future__ import annotations

# 003: the referral is due 5 working days from the notification's submission, not from its screening.
REFERRAL_FROM_NOTIFICATION = "referral-from-notification"
# 003: custody and CPA cases: the initial meeting falls due before release / discharge, not at 20 / 5 WD.
INITIAL_MEETING_BEFORE_RELEASE = "initial-meeting-before-release"
# 003: record searches fall due in time for the pre-meeting information exchange, which is a deadline.
PRE_MEETING_INFORMATION_EXCHANGE = "pre-meeting-information-exchange"
# Minutes, subject access, child protection referrals outlive the exit decision; the case closes after.
OBLIGATIONS_OUTLIVE_EXIT = "obligations-outlive-exit"
# A risk increase before the initial meeting may raise the level or bring the meeting forward.
RISK_INCREASE_BEFORE_INITIAL_MEETING = "risk-increase-before-initial-meeting"
# 000: every notification (not only every referral) is screened against the ASP 3-point criteria.
ASP_SCREENING_OF_EVERY_NOTIFICATION = "asp-screening-of-every-notification"
# 000: an adult screened again has the AP1's 24 hours counted from that screening, not from the referral; a
# first screening counts from the receipt it screens; an AP1 already made or already running is left as it is.
AP1_CLOCK_FROM_RE_SCREENING = "ap1-clock-from-re-screening"
# 000: criteria found met after a meeting was recorded leave the AP1 breached as of that meeting, at once.
AP1_BREACHED_BY_EARLIER_MEETING = "ap1-breached-by-earlier-meeting"
# 000: only the co-ordinator names the ASP chair (the role opens minutes); an AP1 or an ASP inquiry concern does not.
ASP_CHAIR_NAMED_BY_CO_ORDINATOR = "asp-chair-named-by-co-ordinator"
# 000: the same-day ASP share records what was shared, about whom, and with which recipient.
ASP_SHARE_RECORDS_WHAT_AND_WITH_WHOM = "asp-share-records-what-and-with-whom"
# 002: children at risk are named, not counted.
CHILDREN_AT_RISK_NAMED = "children-at-risk-named"
# 004: moving to level 3 in England and Wales states which of the level 3 criteria hold.
LEVEL_3_CRITERIA_ENGLAND_AND_WALES = "level-3-criteria-england-and-wales"

# Dates in the case's order: every date an event gives lies in the case's own order. A meeting is not dated before the
# referral it follows, nor a date planned at it (review, plan actions) before the day it is recorded, and a
# deadline is never met before it was opened.
DATES_IN_CASE_ORDER = "dates-in-case-order"
# 001, 003 (a full minute of each meeting): a stored minute is the record of one meeting; a second meeting naming it is refused.
ONE_MINUTE_ONE_MEETING = "one-minute-one-meeting"

# Found by the property-based tests: a meeting held before the AP1 referral, or a second ASP screening, breached
# an AP1 deadline already breached again, and a level change re-armed a missed review at its past date (each a
# second escalation). A breach is escalated once; a missed review stays breached beside the new level's review.
# Also found by them: a release date moved into the past re-dated a missed deadline to another past day, and
# made a record search asked for today due at the (already passed) meeting's due date. A deadline already missed
# stays missed as of its due time; the pre-meeting exchange is never due before today. A meeting held after the
# pre-meeting information was missed, or a meeting date moved after it was sent, escalated it again: neither does.
BREACH_ESCALATED_ONCE = "breach-escalated-once"

# Attendance, level 1, eligibility, exit basis, escalation routing and the subject told (001, 002, 003, 004).
# A meeting lists each person present (substitutes marked), each signs; invitations recorded; level 3 needs
# someone able to commit resources from each agency present; the chair's grade fits the level (001, 003, 004).
PER_PERSON_ATTENDANCE = "per-person-attendance"
# A level 1 case has a level 1 risk management plan and a regular review by the lead agency (004).
LEVEL_1_REVIEW = "level-1-review"
# Category 2 and 3 openings meet their criteria; a referral comes from an agency allowed to refer (001, 003).
ELIGIBILITY = "eligibility-and-referrers"
# Supervision / licence end prompts exit planning; continuing past an end needs a recorded basis (003).
EXIT_BASIS = "exit-basis"
# A deadline counted back in weeks that lands on a closed day moves to the working day before.
WEEKS_BACK_TO_WORKING_DAY = "weeks-back-to-working-day"
# A breach of the co-ordinator's own deadline goes to the chair (or deputy); re-escalation of a deadline a
# meeting set goes to that meeting's chair.
ESCALATION_ROUTING = "escalation-routing"
# After the first meeting the lead agency tells the subject of their MAPPA status or records why not (002).
SUBJECT_INFORMED_DEADLINE = "subject-informed-deadline"
# The review maximum is read in the unit an area override gives, not always as weeks.
REVIEW_OVERRIDE_IN_OWN_UNIT = "review-override-in-own-unit"
# 000, 002, 004: the AP1, the adult safeguarding referral, the same-day ASP share and the SWIS alert outlive the
# exit decision, as the child protection referral does (000: the AP1 "within 24 hours so as to minimise risk").
SAFEGUARDING_OUTLIVES_EXIT = "safeguarding-outlives-exit"
# 003 stage 2: a risk triage asking for a referral while the notification awaits screening is the screening's
# decision: it meets the screening, and the referral counts from the notification's submission, not the triage.
TRIAGE_AT_NOTIFICATION_SCREENS_IT = "triage-at-notification-screens-it"
# A new release or discharge date never puts the initial meeting later than a risk triage brought it forward to;
# when it moves the meeting, the co-ordinator is told.
MEETING_BROUGHT_FORWARD_STAYS = "meeting-brought-forward-stays"
# 003 stage 5: a category 2 or 3 case opened by its disposal, upcoming release or discharge plans for the end of
# its supervision or licence as any other opening does.
LICENCE_END_ON_EVERY_OPENING = "licence-end-on-every-opening"
# 001: a managed case raised to level 3 has its level 3 meeting (MAPPP) within five working days of the raise, as
# a referral to level 3 does, not only a review within the level 3 maximum; a custody case's meeting is retitled.
LEVEL_3_MEETING_WITHIN_FIVE_WORKING_DAYS = "level-3-meeting-within-five-working-days"
# 000: the AP1's 24 hours run from the screening that found the criteria met, so it can be reminded; a meeting
# held before that screening is the co-ordinator's lateness (the screening), never the lead agency's AP1.
AP1_FROM_THE_SCREENING = "ap1-from-the-screening"
# 001, 003: asking the referrer for more "may delay" what follows: the co-ordinator's decision falls due a decision's
# time after the information is due, and is counted afresh from the day it arrives.
REFERRAL_DECISION_WAITS_FOR_INFORMATION = "referral-decision-waits-for-information"
# 003 stage 2: a custody (or CPA) case notified early owes its referral by twelve weeks before release (or
# discharge), not five working days after the notification; never sooner than those five working days.
CUSTODY_REFERRAL_BY_TWELVE_WEEKS_BEFORE_RELEASE = "custody-referral-by-twelve-weeks-before-release"

# 003 stage 4: a meeting is on time when it is held by its due day, whenever it is recorded (a breach marked
# while it was unrecorded is withdrawn); 000: the SWIS alert, "immediately after the meeting", counts from the
# meeting's recording, the first moment the lead professional can be directed to it.
MEETING_ON_TIME_BY_DAY_HELD = "meeting-on-time-by-day-held"
# 004 "Level 3" (England and Wales): its criteria are stated wherever level 3 is decided: a triage to level 3
# (before the initial meeting too) and every meeting that decides level 3, not only a move to it.
LEVEL_3_CRITERIA_AT_EVERY_DECISION = "level-3-criteria-at-every-decision"
# 001, 003, 004: a meeting that was held is recorded whatever fell short: a chair below the level's grade, or
# an agency at a level 3 meeting with nobody able to commit its resources, is recorded on the meeting and the
# co-ordinator told, not refused (a refusal lost the record of a meeting that happened).
HELD_MEETING_RECORDED_WITH_SHORTFALLS = "held-meeting-recorded-with-shortfalls"
# 000, 001: in Scotland category 2 is the mentally disordered restricted patient; 004's category 2 (12 months
# or more in custody or hospital, then supervision or licence) is England and Wales only.
SCOTTISH_CATEGORY_2_RESTRICTED_PATIENTS = "scottish-category-2-restricted-patients"
# 000 for a case open to MAPPA and ASP: the council officer (of the ASP chair's council) attends the MAPPA meeting,
# the minutes go to both chairs, the co-ordinator's decision on an ASP-route referral goes to both chairs, and the
# co-ordinator is prompted to name the ASP chair when the ASP side opens without one.
ASP_CROSS_FORUM_RULES = "asp-cross-forum-rules"
# An imported case is the dated events a live case would have received (notification, screening, referral,
# decision, meeting), applied through the live handlers; what fell due before the import is recorded as
# breached without an escalation per deadline (the import's one summary lists it) and re-escalated from then.
IMPORT_AS_DATED_EVENTS = "import-as-dated-events"
# The case's events, with who sent them and why, are kept in its chronology (written with its ledger), so a case
# review years later does not depend on Temporal's history. A case that takes it up mid-life first rebuilds its
# past from its case file. The workflow asks it (workflows/case.py), not the core: it changes what is written.
CHRONOLOGY_IN_LEDGER = "chronology-in-ledger"
# The case's timer for its earliest reminder, deadline or re-escalation is kept across events that leave that
# moment where it was, instead of being cancelled and started again after every event (two history events, a
# timer on the server and a summary to encrypt, per event: issue 19). Asked by the workflow, not the core.
TIMER_KEPT_ACROSS_EVENTS = "timer-kept-across-events"

# Every correction in force for new cases, oldest first. Append; never remove or rename (histories name them).
RULE_CHANGES: tuple[str, ...] = (
    REFERRAL_FROM_NOTIFICATION,
    INITIAL_MEETING_BEFORE_RELEASE,
    PRE_MEETING_INFORMATION_EXCHANGE,
    OBLIGATIONS_OUTLIVE_EXIT,
    RISK_INCREASE_BEFORE_INITIAL_MEETING,
    ASP_SCREENING_OF_EVERY_NOTIFICATION,
    AP1_CLOCK_FROM_RE_SCREENING,
    AP1_BREACHED_BY_EARLIER_MEETING,
    ASP_CHAIR_NAMED_BY_CO_ORDINATOR,
    ASP_SHARE_RECORDS_WHAT_AND_WITH_WHOM,
    CHILDREN_AT_RISK_NAMED,
    LEVEL_3_CRITERIA_ENGLAND_AND_WALES,
    DATES_IN_CASE_ORDER,
    ONE_MINUTE_ONE_MEETING,
    BREACH_ESCALATED_ONCE,
    PER_PERSON_ATTENDANCE,
    LEVEL_1_REVIEW,
    ELIGIBILITY,
    EXIT_BASIS,
    WEEKS_BACK_TO_WORKING_DAY,
    ESCALATION_ROUTING,
    SUBJECT_INFORMED_DEADLINE,
    REVIEW_OVERRIDE_IN_OWN_UNIT,
    MEETING_ON_TIME_BY_DAY_HELD,
    LEVEL_3_CRITERIA_AT_EVERY_DECISION,
    HELD_MEETING_RECORDED_WITH_SHORTFALLS,
    SCOTTISH_CATEGORY_2_RESTRICTED_PATIENTS,
    ASP_CROSS_FORUM_RULES,
    IMPORT_AS_DATED_EVENTS,
    SAFEGUARDING_OUTLIVES_EXIT,
    TRIAGE_AT_NOTIFICATION_SCREENS_IT,
    MEETING_BROUGHT_FORWARD_STAYS,
    LICENCE_END_ON_EVERY_OPENING,
    LEVEL_3_MEETING_WITHIN_FIVE_WORKING_DAYS,
    AP1_FROM_THE_SCREENING,
    REFERRAL_DECISION_WAITS_FOR_INFORMATION,
    CUSTODY_REFERRAL_BY_TWELVE_WEEKS_BEFORE_RELEASE,
    CHRONOLOGY_IN_LEDGER,
    TIMER_KEPT_ACROSS_EVENTS,
)
