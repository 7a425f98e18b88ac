"""The README's table of choices ("What the system chose where the guidance is silent") names every policy value
the code applies where the seeds are silent, by a stable key in backticks in the row's first cell: a timescale by
its rule id (`screening`), a setting by its name in the code (`re_escalation_working_days`, `DISCLOSURE_DAYS`).

Policy values are found in the code, not listed here: every timescale whose source says "policy value", every
reminder, every field of the jurisdiction and area policies classified as a policy value (a new field must be
classified), and every setting a comment calls a policy value. A few settings the table has always explained are
named here because no comment marks them; the test checks they still exist."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import fields
from pathlib import Path

import pytest

from workflows.rules.policy import AREAS, JURISDICTIONS, Area, AreaPolicy, JurisdictionPolicy
from workflows.rules.timescales import StatutoryRule, Timescale

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"
TABLE_HEADING = "## What the system chose where the guidance is silent"
PACKAGES = ("workflows", "api", "store", "core", "worker", "activities", "cli")

# A timescale no England and Wales seed sets is a policy value there; one row explains them all.
ENGLAND_AND_WALES_DEFAULTS = "for_england_and_wales"
ENGLAND_AND_WALES_DEFAULT_SOURCE = "policy value in England and Wales (no England and Wales seed sets it"

# Every field of the policies, classified: a policy value needs a row; the others say where they come from.
JURISDICTION_POLICY_VALUES = {
    "re_escalation_working_days",
    "chair_grades",
    "meeting_clock_after_further_information",
    "categories",
}
JURISDICTION_FIELDS_FROM_THE_SEEDS = {
    "jurisdiction": "which law applies",
    "name": "a name",
    "rules": "each rule is checked on its own (its source says whether it is a policy value)",
    "asp_link": "000",
    "swis_alerts": "000",
    "category_3_may_be_level_1": "004 and the domain brief",
    "referrers": "001 'Key stages', 003 stage 1, 002 section 4",
    "referrers_source": "the citation of `referrers`",
    "level_3_criteria": "004 'Level 3'",
    "responsible_authorities": "004 and the domain brief",
}
AREA_POLICY_VALUES = {"local_holidays", "overrides"}
AREA_FIELDS_FROM_THE_SEEDS = {
    "area_id": "a name",
    "code": "a name",
    "name": "a name",
    "jurisdiction": "where the area is",
}
AREA_POLICY_FIELDS = {
    "area": "the area above",
    "policy": "the jurisdiction above",
    "calendar": "the two together",
}

# Settings the table explains that no comment marks as a policy value (engineering limits and conventions).
UNMARKED_SETTINGS = (
    "WORKING_DAY_STARTS",
    "RUN_EVENTS",
    "CLOSED_DEADLINES_KEPT",
    "MEETINGS_KEPT",
    "MEETINGS_KEPT_WHOLE",
    "SEEN_KEYS_CARRIED",
    "ANSWERED_KEPT",
    "TOKEN_CACHE_SECONDS",
    "BATCH_ROWS",
    "BATCHES_PER_RUN",
)
# Names a "policy value" comment is about without being one: the field that holds a rule's source.
NOT_SETTINGS = {"source"}

UNITS = {
    "working_days": r"working days?",
    "weeks": r"weeks?",
    "hours": r"hours?",
    "calendar_months": r"calendar months?",
}
ONE = r"1|one|a"


# The README's table


def choices_table(text: str) -> list[str]:
    """The table's rows, header and rule line left out."""
    section = text[text.index(TABLE_HEADING) :]
    section = section[: section.index("\n## ", 1)]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| ---")]
    return rows[1:]


def keys_of(row: str) -> set[str]:
    """The keys a row names: each name in backticks in its first cell (`Area.overrides` names `overrides`)."""
    first_cell = row.split(" | ", 1)[0]
    names = re.findall(r"`([^`]+)`", first_cell)
    return {part for name in names for part in (name, name.rpartition(".")[2])}


def row_for(key: str, rows: list[str]) -> str | None:
    named = [row for row in rows if key in keys_of(row)]
    assert len(named) <= 1, f"{key} names more than one row of the table of choices"
    return named[0] if named else None


def names_the_figure(row: str, timescale: Timescale) -> bool:
    unit = UNITS.get(timescale.unit)
    if unit is None or timescale.amount == 0:
        return True  # the same day, a date set at the meeting: no figure to name
    amount = ONE if timescale.amount == 1 else str(timescale.amount)
    return re.search(rf"\b(?:{amount})\s+(?:\w+\s+)?{unit}\b", row) is not None


# Policy values in the code


def policy_value_rules() -> Iterator[tuple[JurisdictionPolicy, StatutoryRule]]:
    for policy in JURISDICTIONS.values():
        for rule in policy.rules.values():
            if "policy value" in rule.source:
                yield policy, rule


def key_of_rule(rule: StatutoryRule) -> str:
    if rule.source.startswith(ENGLAND_AND_WALES_DEFAULT_SOURCE):
        return ENGLAND_AND_WALES_DEFAULTS
    return rule.kind.value


def python_files() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((REPO_ROOT / package).rglob("*.py"))


def comments(source: str) -> dict[int, tuple[str, bool]]:
    """Each line's comment, and whether the comment is the whole line."""
    found: dict[int, tuple[str, bool]] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            row, column = token.start
            found[row] = (token.string, not token.line[:column].strip())
    return found


def comment_above(line: int, notes: dict[int, tuple[str, bool]]) -> str:
    """The block of whole-line comments directly above a line, and the comment at its end."""
    block = []
    above = line - 1
    while above in notes and notes[above][1]:
        block.append(notes[above][0])
        above -= 1
    own = notes.get(line)
    return " ".join([*reversed(block), *([own[0]] if own and not own[1] else [])])


def names_bound(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    if isinstance(node, ast.FunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.keyword) and node.arg:
        return [node.arg]
    return []


def marked_settings(source: str) -> set[str]:
    """The names a comment calls a policy value: the statement or keyword argument below the comment (or
    ending in it); a comment on "policy values" also covers the statements that follow it without a blank line."""
    notes = comments(source)
    tree = ast.parse(source)
    marked: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and "policy value" in comment_above(node.lineno, notes).lower():
            marked.update(names_bound(node))
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        carried = False
        previous_end = -1
        for statement in body:
            note = comment_above(statement.lineno, notes).lower()
            carried = carried and statement.lineno == previous_end + 1
            if "policy value" in note:
                marked.update(names_bound(statement))
                carried = "policy values" in note
            elif carried:
                marked.update(names_bound(statement))
            previous_end = statement.end_lineno or statement.lineno
    return marked - NOT_SETTINGS


def settings_in_the_code() -> dict[str, Path]:
    """Every name a comment in the code marks as a policy value, and where."""
    found: dict[str, Path] = {}
    for path in python_files():
        for name in marked_settings(path.read_text()):
            found.setdefault(name, path)
    return found


def module_constants() -> dict[str, object]:
    """Every module-level constant in the packages, with its value where it is a plain literal."""
    found: dict[str, object] = {}
    for path in python_files():
        for statement in ast.parse(path.read_text()).body:
            if isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
                for name in names_bound(statement):
                    try:
                        found[name] = ast.literal_eval(statement.value)
                    except ValueError:
                        found[name] = None
    return found


def missing_rows(keys: Iterable[str], rows: list[str]) -> list[str]:
    return sorted({key for key in keys if row_for(key, rows) is None})


@pytest.fixture(scope="module")
def rows() -> list[str]:
    return choices_table(README.read_text())


# The tests


def test_every_timescale_the_seeds_leave_open_has_a_row_that_states_its_figure(rows: list[str]) -> None:
    keys = {key_of_rule(rule) for _, rule in policy_value_rules()}
    assert {"screening", "review-level-3", ENGLAND_AND_WALES_DEFAULTS} <= keys

    assert not missing_rows(keys, rows), "add a row to the README's table of choices for each"
    wrong = [
        f"{policy.name}: {rule.kind.value} is {rule.timescale.amount_in_words()}"
        for policy, rule in policy_value_rules()
        if key_of_rule(rule) != ENGLAND_AND_WALES_DEFAULTS
        and not names_the_figure(row_for(key_of_rule(rule), rows) or "", rule.timescale)
    ]
    assert not wrong, f"the README's table of choices gives another figure: {wrong}"


def test_the_reminders_row_gives_every_rule_its_reminder(rows: list[str]) -> None:
    row = row_for("reminder", rows)
    assert row is not None, "the README's table of choices has no row for reminders (`reminder`)"
    said: dict[str, Timescale | None] = {}
    for group in row.split(" | ")[1].split(";"):
        figure = re.search(r"\b(\d+|none)\b(?:\s+(working days?|hours?))?\s+before", group)
        assert figure is not None, f"a group of the reminders row says no figure: {group}"
        amount, unit = figure.groups()
        reminder = (
            None
            if amount == "none"
            else Timescale("hours" if unit and unit.startswith("hour") else "working_days", int(amount))
        )
        said.update(dict.fromkeys(re.findall(r"`([^`]+)`", group), reminder))

    wrong = [
        f"{policy.name}: {kind.value} is reminded {rule.reminder.amount_in_words() + ' before' if rule.reminder else 'never'}"
        for policy in JURISDICTIONS.values()
        for kind, rule in policy.rules.items()
        if kind.value not in said or said[kind.value] != rule.reminder
    ]
    assert not wrong, f"the README's reminders row does not say: {wrong}"


def test_every_field_of_the_policies_is_classified_and_each_policy_value_has_a_row(rows: list[str]) -> None:
    classified = {
        JurisdictionPolicy: JURISDICTION_POLICY_VALUES | set(JURISDICTION_FIELDS_FROM_THE_SEEDS),
        Area: AREA_POLICY_VALUES | set(AREA_FIELDS_FROM_THE_SEEDS),
        AreaPolicy: set(AREA_POLICY_FIELDS),
    }
    for policy_class, known in classified.items():
        new = {f.name for f in fields(policy_class)} - known
        assert not new, (
            f"{policy_class.__name__} has fields no one has classified: {sorted(new)}; a policy value (the seeds "
            "are silent) needs a row in the README's table of choices and a place in this test"
        )

    assert not missing_rows(JURISDICTION_POLICY_VALUES | AREA_POLICY_VALUES, rows)
    for policy in JURISDICTIONS.values():
        every = rf"every {policy.re_escalation_working_days} working days?"
        assert re.search(every, row_for("re_escalation_working_days", rows) or "")
        for category in policy.categories:
            if category > 3:  # the seeds name three categories
                assert f"category {category}" in (row_for("categories", rows) or "")
    for area in AREAS.values():
        if area.local_holidays:
            assert area.name in (row_for("local_holidays", rows) or ""), f"{area.name}'s local holidays"
        if area.overrides:
            assert area.name in (row_for("overrides", rows) or ""), f"{area.name}'s own timescales"


def test_every_setting_a_comment_calls_a_policy_value_has_a_row(rows: list[str]) -> None:
    settings = settings_in_the_code()
    assert {"DISCLOSURE_DAYS", "MAX_DISCLOSURE_DAYS", "DATE_WINDOWS", "categories", "chair_grades"} <= set(
        settings
    )

    missing = missing_rows(settings, rows)
    assert not missing, (
        f"add a row to the README's table of choices for: {[(m, str(settings[m])) for m in missing]}"
    )


def test_each_setting_the_table_explains_still_exists_with_the_figure_the_table_gives(
    rows: list[str],
) -> None:
    constants = module_constants()
    gone = [name for name in UNMARKED_SETTINGS if name not in constants]
    assert not gone, f"renamed or removed (update the README's table of choices and this test): {gone}"
    assert not missing_rows(UNMARKED_SETTINGS, rows)

    named = {*UNMARKED_SETTINGS, *settings_in_the_code()}
    wrong = [
        f"{name} = {value}"
        for name, value in constants.items()
        if name in named
        and isinstance(value, int | float)
        and not re.search(rf"\b({int(value):,}|{int(value)})\b", row_for(name, rows) or "")
    ]
    assert not wrong, f"the README's table of choices gives another figure for: {wrong}"


def test_the_check_would_catch_a_policy_value_added_without_a_row(rows: list[str]) -> None:
    module = (
        "# Policy value: how long a case waits for the chair.\n"
        "CHAIR_WAIT_DAYS = 4\n"
        "\n"
        "# Policy values: the seeds set none of these.\n"
        "FIRST = 1\n"
        "SECOND = 2\n"
        "\n"
        "THIRD = 3\n"
        "X = 3  # a policy value\n"
        "Y = g(\n"
        "    # a policy value (001 sets no time)\n"
        "    wait=5,\n"
        ")\n"
    )
    assert marked_settings(module) == {"CHAIR_WAIT_DAYS", "FIRST", "SECOND", "X", "wait"}
    assert missing_rows({"CHAIR_WAIT_DAYS", "screening"}, rows) == ["CHAIR_WAIT_DAYS"]
    # A row names a key only in its first cell: the reminders row mentions every rule id in its second.
    assert row_for("screening", rows) != row_for("reminder", rows)
    assert names_the_figure("| x (`y`) | within 3 working days |", Timescale("working_days", 3))
    assert not names_the_figure("| x (`y`) | within 3 working days |", Timescale("working_days", 5))
