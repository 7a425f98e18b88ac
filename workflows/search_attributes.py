"""The typed search attributes every case carries, for the Temporal UI's query box and ops."""

from temporalio.common import SearchAttributeKey

CASE_STAGE = SearchAttributeKey.for_keyword("CaseStage")
CASE_LEVEL = SearchAttributeKey.for_int("CaseLevel")
CASE_CATEGORY = SearchAttributeKey.for_keyword("CaseCategory")
JURISDICTION = SearchAttributeKey.for_keyword("Jurisdiction")
AREA = SearchAttributeKey.for_keyword("Area")
LEAD_AGENCY = SearchAttributeKey.for_keyword("LeadAgency")
NEXT_DEADLINE_AT = SearchAttributeKey.for_datetime("NextDeadlineAt")
NEXT_DEADLINE_KIND = SearchAttributeKey.for_keyword("NextDeadlineKind")
OPEN_BREACHES = SearchAttributeKey.for_int("OpenBreaches")
# Set when an imported case starts (api/imports.py), never upserted by the workflow: the area's own case number.
IMPORT_REF = SearchAttributeKey.for_keyword("ImportRef")
# On an import's own workflow (workflows/imports.py), with `Area`: how many of its rows have settled.
IMPORT_ROWS_SETTLED = SearchAttributeKey.for_int("ImportRowsSettled")

ALL = (
    CASE_STAGE,
    CASE_LEVEL,
    CASE_CATEGORY,
    JURISDICTION,
    AREA,
    LEAD_AGENCY,
    NEXT_DEADLINE_AT,
    NEXT_DEADLINE_KIND,
    OPEN_BREACHES,
    IMPORT_REF,
    IMPORT_ROWS_SETTLED,
)
