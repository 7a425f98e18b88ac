"""Every statutory timescale, as data, stage by stage: what each deadline is, how long it runs, what starts it, who
owes it and which guidance says so (docs/SOURCES.md). Values the seeds leave open are policy values, marked
`policy value` in their source and explained in the README's table of choices. policy.py says which tables apply
in each jurisdiction and area.
"""

from __future__ import annotations

from workflows.rules.timescales import DeadlineKind, StatutoryRule, Timescale, in_weeks, in_working_days

COMMON_RULES: tuple[StatutoryRule, ...] = (
    StatutoryRule(
        DeadlineKind.NOTIFICATION,
        "notification to the co-ordinator",
        "The lead responsible authority must submit a notification form to the MAPPA co-ordinator within "
        "three working days of being notified of a community sentence disposal.",
        "003",
        in_working_days(3),
        "being notified of the community sentence disposal",
        "lead agency",
        reminder=in_working_days(1),
    ),
    StatutoryRule(
        DeadlineKind.SCREENING,
        "screening of the notification",
        "The co-ordinator screens each notification: level 1 (record only) or a stage 2 referral is needed.",
        "policy value (003 sets no time)",
        in_working_days(2),
        "notification received",
        "co-ordinator",
        reminder=in_working_days(1),
    ),
    StatutoryRule(
        DeadlineKind.REFERRAL,
        "MAPPA referral",
        "Should a decision be made to manage the offender at MAPPA Level 2 or 3 then a referral must be "
        "submitted to the MAPPA co-ordinator within five working days of submission of the notification form.",
        "003",
        in_working_days(5),
        "notification submitted",
        "lead agency",
        reminder=in_working_days(2),
    ),
    StatutoryRule(
        DeadlineKind.CUSTODY_REFERRAL,
        "custody notification or referral from SPS / prison",
        "The prison service must send the MAPPA co-ordinator a notification or referral as soon as possible "
        "and not less than twelve weeks before release.",
        "003",
        in_weeks(12, before=True),
        "release date",
        "lead agency",
        reminder=in_working_days(10),
    ),
    StatutoryRule(
        DeadlineKind.REFERRAL_DECISION,
        "co-ordinator's decision on the referral",
        "On receipt of the referral the co-ordinator decides whether the offender meets the criteria for "
        "level 2 or level 3; a referral not accepted is notified to the referrer as soon as possible, with reasons.",
        "policy value (001, 003 set no time)",
        in_working_days(3),
        "receipt of referral",
        "co-ordinator",
        reminder=in_working_days(1),
    ),
    StatutoryRule(
        DeadlineKind.FURTHER_INFORMATION,
        "further information from the referring agency",
        "In the event of insufficient information the co-ordinator contacts the referring agency, which may "
        "delay the co-ordination of a required meeting.",
        "policy value (001, 003 set no time)",
        in_working_days(3),
        "request for further information",
        "referring agency",
        reminder=in_working_days(1),
    ),
    StatutoryRule(
        DeadlineKind.CHILD_PROTECTION_REFERRAL,
        "child protection referral for named children at risk",
        "Specific children at risk are referred to child protection.",
        "002; timescale a policy value",
        in_working_days(1),
        "children at risk identified",
        # 002: the agency worker who identifies specific children at risk refers them; the case charges it.
        "agency that identified the risk",
    ),
    StatutoryRule(
        DeadlineKind.RECORD_SEARCH,
        "agency record search",
        "The receiving agency will search their agency records ... in any case, both will be recorded and "
        "completed within five working days to the MAPPA co-ordinator.",
        "003",
        in_working_days(5),
        "record search requested",
        "each agency",
        reminder=in_working_days(2),
    ),
    StatutoryRule(
        DeadlineKind.INITIAL_MEETING_LEVEL_2,
        "initial level 2 meeting",
        "For those offenders in the community, an initial Level 2 meeting must be held within 20 working days "
        "of receipt of referral by the co-ordinator; for custody or CPA cases, before release or discharge.",
        "001, 003",
        in_working_days(20),
        "receipt of referral",
        "co-ordinator",
        reminder=in_working_days(5),
    ),
    StatutoryRule(
        DeadlineKind.INITIAL_MEETING_LEVEL_3,
        "initial level 3 meeting (MAPPP)",
        "An initial Level 3 meeting must be held within five working days of receipt of the referral; for "
        "custody or CPA cases, before release or discharge.",
        "001, 003",
        in_working_days(5),
        "receipt of referral",
        "co-ordinator",
        reminder=in_working_days(2),
    ),
    StatutoryRule(
        DeadlineKind.MINUTES,
        "minutes circulated to attendees",
        "All Level 2 and 3 meetings are fully minuted with the minutes being circulated within five working days.",
        "001, 003",
        in_working_days(5),
        "meeting held",
        "co-ordinator",
        reminder=in_working_days(2),
    ),
    StatutoryRule(
        DeadlineKind.RMP_ACTION,
        "risk management plan action",
        "The risk management plan will include who is responsible for undertaking each specific action "
        "including the timeframe in which it is expected the action will be completed.",
        "001, 003",
        Timescale("set_at_event"),
        "meeting held",
        "owner agency",
        reminder=in_working_days(3),
    ),
    StatutoryRule(
        DeadlineKind.RISK_CHANGE_TRIAGE,
        "co-ordinator's triage of a change in risk",
        "All agencies report any change in risk to the co-ordinator; an extra review meeting may be called or "
        "the offender escalated to a higher level of MAPPA management.",
        "policy value (001, 003 set no time)",
        in_working_days(1),
        "change in risk reported",
        "co-ordinator",
    ),
    StatutoryRule(
        DeadlineKind.EXTRA_REVIEW,
        "extra review meeting after a change in risk",
        "In these circumstances it may be necessary for a review to take place sooner than expected.",
        "policy value (001, 003 set no time)",
        in_working_days(10),
        "triage of the change in risk",
        "co-ordinator",
        reminder=in_working_days(3),
    ),
    StatutoryRule(
        DeadlineKind.SONR_EXIT_NOTICE,
        "lead agency's notice that the SONR is ending",
        "The lead agency must notify the MAPPA co-ordinator when an offender is nearing the end of their SONR, "
        "with sufficient time to allow for a review of the circumstances.",
        "003; 'sufficient time' a policy value",
        in_weeks(8, before=True),
        "SONR end date",
        "lead agency",
        reminder=in_working_days(10),
    ),
    StatutoryRule(
        DeadlineKind.EXIT_REVIEW,
        "review of whether MAPPA management must continue past the SONR end",
        "A review will confirm whether continued management through MAPPA is justified and necessary "
        "(an SHPO application may extend the notification requirements).",
        "003; held before the SONR end date",
        Timescale("working_days", 1, before=True),
        "SONR end date",
        "co-ordinator",
        reminder=in_working_days(10),
    ),
    StatutoryRule(
        DeadlineKind.TRANSFER_ACCEPTANCE,
        "receiving area's decision on a transfer",
        "The receiving area's co-ordinator accepts the case, or declines it with reasons.",
        "policy value (no seed speaks of transfers; 5 working days as for a referral, 003)",
        in_working_days(5),
        "the transfer's request",
        "co-ordinator",
        reminder=in_working_days(2),
    ),
)


# Deadlines that run before the case exists (disposal, release, discharge) and the timing of the information
# exchange before the initial meeting (003 stages 1-4).
TIMELINE_RULES: tuple[StatutoryRule, ...] = (
    StatutoryRule(
        DeadlineKind.RESTRICTED_PATIENT_REFERRAL,
        "restricted patient notification or referral from the hospital",
        "Restricted patients are referred through the Care Programme Approach, the NHS referring when the "
        "patient gains community access; the initial meeting must take place before discharge.",
        "001, 003; twelve weeks before discharge a policy value (as for custody)",
        in_weeks(12, before=True),
        "discharge date",
        "lead agency",
        reminder=in_working_days(10),
    ),
    StatutoryRule(
        DeadlineKind.INITIAL_MEETING_BEFORE_RELEASE,
        "initial meeting before release or discharge",
        "For those offenders within custody or being managed within the Care Programme Approach (CPA) the "
        "initial Level 2 or Level 3 meeting must take place prior to their release/discharge into the community.",
        "003",
        Timescale("working_days", 1, before=True),
        "release or discharge date",
        "co-ordinator",
        reminder=in_working_days(10),
    ),
    StatutoryRule(
        DeadlineKind.RECORD_SEARCH_BEFORE_MEETING,
        "agency record search, in time for the pre-meeting information exchange",
        "The product of pre-meeting information exchanges should be compiled and provided in advance of the "
        "meeting to all agencies attending; the searches are completed within five working days, and earlier "
        "where the meeting falls due sooner.",
        "003; three working days before the meeting's due date a policy value",
        Timescale("working_days", 3, before=True),
        "initial meeting due date",
        "each agency",
        reminder=in_working_days(1),
    ),
    StatutoryRule(
        DeadlineKind.PRE_MEETING_INFORMATION,
        "pre-meeting information sent to the attending agencies",
        "The product of pre-meeting information exchanges should be compiled and provided in advance of the "
        "meeting to all agencies attending a Level 2 or Level 3 meeting to allow for suitable preparation.",
        "003, 001; one working day before the meeting's due date a policy value",
        Timescale("working_days", 1, before=True),
        "initial meeting due date",
        "co-ordinator",
    ),
)


# Level 1 (004), the subject told (002), and exit planning for category 2 and 3 (003 stage 5).
LEVEL_1_AND_SUBJECT_RULES: tuple[StatutoryRule, ...] = (
    StatutoryRule(
        DeadlineKind.LEVEL_1_RMP,
        "level 1 risk management plan recorded by the lead agency",
        "Level 1: the lead agency has a robust risk management plan in place, with information exchange "
        "between agencies.",
        "004; timescale a policy value",
        in_working_days(10),
        "case managed at level 1",
        "lead agency",
        reminder=in_working_days(3),
    ),
    StatutoryRule(
        DeadlineKind.SUBJECT_INFORMED,
        "subject told of their MAPPA status, or the reason recorded",
        "The subjects of MAPPA meetings are normally informed of their MAPPA status except when to do so will "
        "de-stabilise them psychologically or when to do so could endanger others.",
        "002; timescale a policy value",
        in_working_days(10),
        "first MAPPA meeting",
        "lead agency",
        reminder=in_working_days(3),
    ),
    StatutoryRule(
        DeadlineKind.SUPERVISION_END_NOTICE,
        "lead agency's notice that supervision or licence is ending",
        "As for the end of the SONR: the lead agency notifies the co-ordinator when the supervision or licence "
        "that brings a category 2 or 3 case into MAPPA is ending, in time for a review of the circumstances.",
        "003 (by analogy with the SONR end); 'sufficient time' a policy value",
        in_weeks(8, before=True),
        "supervision or licence end date",
        "lead agency",
        reminder=in_working_days(10),
    ),
    StatutoryRule(
        DeadlineKind.SUPERVISION_EXIT_REVIEW,
        "review of whether MAPPA management must continue past the supervision or licence end",
        "A review confirms whether continued management through MAPPA is justified and necessary; a category 3 "
        "case exits when it no longer meets the criteria.",
        "003; held before the supervision or licence end date",
        Timescale("working_days", 1, before=True),
        "supervision or licence end date",
        "co-ordinator",
        reminder=in_working_days(10),
    ),
)


def level_1_review_rule(weeks: int, source: str) -> StatutoryRule:
    return StatutoryRule(
        DeadlineKind.LEVEL_1_REVIEW,
        "level 1 review by the lead agency",
        "Level 1 cases are reviewed and recorded regularly by the lead agency.",
        source,
        in_weeks(weeks),
        "last level 1 review (or entry to level 1)",
        "lead agency",
        reminder=in_working_days(10),
    )


SUBJECT_ACCESS_RULES: tuple[StatutoryRule, ...] = (
    StatutoryRule(
        DeadlineKind.SUBJECT_ACCESS_REQUEST,
        "decision on the subject's request for the minutes",
        "Requests for disclosure of MAPPA minutes are treated as Subject Access Requests under the Data "
        "Protection Act: the co-ordinator and chair consult the other attending agencies and decide whether an "
        "exemption applies.",
        "001; one calendar month a policy value (the data protection response time)",
        Timescale("calendar_months", 1),
        "subject access request received",
        "co-ordinator",
        reminder=in_working_days(5),
    ),
    StatutoryRule(
        DeadlineKind.SAR_CONSULTATION,
        "attending agency's view on the subject access request",
        "The co-ordinator and meeting chair consult the other attending agencies.",
        "001; timescale a policy value",
        in_working_days(10),
        "consultation sent",
        "each agency",
        reminder=in_working_days(3),
    ),
)


SCOTLAND_ONLY_RULES: tuple[StatutoryRule, ...] = (
    StatutoryRule(
        DeadlineKind.ASP_SCREENING,
        "screening against the ASP 3-point criteria",
        "Every MAPPA referral is considered against the Adult Support and Protection 3-point criteria.",
        "000",
        Timescale("hours", 24),
        "receipt of referral",
        "co-ordinator",
        reminder=Timescale("hours", 4),
    ),
    StatutoryRule(
        DeadlineKind.AP1_REFERRAL,
        "AP1 referral to the adult's locality",
        "Where the 3-point criteria are met an AP1 referral is made within 24 hours, and before any MAPPA meeting.",
        "000",
        Timescale("hours", 24),
        "the screening that found the criteria met",
        "lead agency",
        reminder=Timescale("hours", 4),
    ),
    StatutoryRule(
        DeadlineKind.ASP_INFORMATION_SHARING,
        "ASP information shared with justice social work / SOPU",
        "Where an ASP inquiry finds a MAPPA case or concern, name, date of birth, address, needs and risks are "
        "shared with justice social work or the SOPU the same day.",
        "000",
        Timescale("same_day"),
        "ASP inquiry concern raised",
        "council officer",
    ),
    StatutoryRule(
        DeadlineKind.SWIS_ALERT,
        "SWIS alert updated by the lead professional",
        "After a MAPPA meeting the lead professional updates the SWIS alert immediately.",
        "000 (given there for meetings of cases open to MAPPA and ASP; after every Scottish meeting a policy value)",
        Timescale("same_day"),
        "meeting held",
        "lead professional",
    ),
)


ENGLAND_AND_WALES_ONLY_RULES: tuple[StatutoryRule, ...] = (
    StatutoryRule(
        DeadlineKind.ADULT_SAFEGUARDING_REFERRAL,
        "adult safeguarding referral for a named adult at risk",
        "Specific vulnerable adults at risk from another person should be referred into the vulnerable adults "
        "procedures (the council's adult safeguarding under the Care Act).",
        "002, 004; timescale a policy value",
        in_working_days(1),
        "adult at risk identified",
        "agency that identified the risk",
    ),
)


def review_rules(
    level_2_weeks: int, level_3_weeks: int, source: str, level_3_source: str | None = None
) -> tuple[StatutoryRule, ...]:
    return (
        StatutoryRule(
            DeadlineKind.REVIEW_LEVEL_2,
            "level 2 review meeting",
            f"Level 2 cases will be reviewed no less than once every {level_2_weeks} weeks; the review date is "
            "set at each meeting and may be sooner.",
            source,
            in_weeks(level_2_weeks),
            "last meeting",
            "co-ordinator",
            reminder=in_working_days(10),
        ),
        StatutoryRule(
            DeadlineKind.REVIEW_LEVEL_3,
            "level 3 review meeting (MAPPP)",
            f"Level 3 cases will be reviewed no less than once every {level_3_weeks} weeks; the review date is "
            "set at each meeting and may be sooner.",
            level_3_source or source,
            in_weeks(level_3_weeks),
            "last meeting",
            "co-ordinator",
            reminder=in_working_days(5),
        ),
    )
