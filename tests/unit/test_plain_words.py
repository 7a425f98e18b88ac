"""What a co-ordinator reads about why a deadline falls when it does: plain words, the guidance's numbers kept
only as the reference at the end (docs/SOURCES.md), never the system's own vocabulary ("seed", "policy value")."""

import re
from datetime import date

import pytest

from activities.notices import NoticeTemplates
from api.calculator import calculate_deadline, render
from tests.unit.rules.cases import english_referred_case
from workflows.rules.case import NoticeKind
from workflows.rules.policy import AREAS, DeadlineKind, area_policy
from workflows.rules.timescales import source_in_words

JARGON = ("seed", "policy value", "figure of", "is applied")
EVERY_RULE = [(area, kind) for area in AREAS for kind in DeadlineKind if area_policy(area).applies(kind)]


def seeds(text: str) -> set[str]:
    return set(re.findall(r"\b00[0-4]\b", text))


@pytest.mark.parametrize(("area", "kind"), EVERY_RULE)
def test_every_rules_source_reads_in_plain_words_with_the_same_guidance_cited(
    area: str, kind: DeadlineKind
) -> None:
    source = area_policy(area).rule(kind).source
    words = source_in_words(source)
    assert not any(term in words for term in JARGON), words
    assert seeds(words) == seeds(source)


def test_a_scottish_figure_used_in_england_and_wales_says_so_plainly() -> None:
    source = area_policy("wiltshire-and-swindon").rule(DeadlineKind.RECORD_SEARCH).source
    assert source.startswith("policy value in England and Wales")
    assert source_in_words(source) == (
        "the England and Wales guidance sets no time for this, so the time the Scottish guidance sets is used "
        "(guidance 003)"
    )


def test_an_areas_own_time_is_named_as_the_areas() -> None:
    assert source_in_words("001, 003; Lanarkshire area policy") == (
        "Lanarkshire sets its own time for this, in place of the usual one (guidance 001, 003)"
    )


def test_a_breach_escalation_e_mail_explains_the_time_without_jargon() -> None:
    case = english_referred_case()
    search = next(d for d in case.deadlines.values() if d.kind is DeadlineKind.RECORD_SEARCH)
    case.take_outbox()
    case.tick(search.due_at)
    (escalation,) = [
        n
        for n in case.take_outbox()
        if n.deadline_id == search.deadline_id and n.kind is NoticeKind.BREACH_ESCALATION
    ]

    body = NoticeTemplates().render(escalation).body

    assert "Why this time: the England and Wales guidance sets no time for this" in body
    assert not any(term in body for term in JARGON), body


def test_the_calculator_says_why_in_words_and_keeps_the_source_in_its_detail() -> None:
    calc = calculate_deadline("wiltshire-and-swindon", "record-search", date(2026, 12, 18))

    text = render(calc)

    summary, _, detail = text.partition("\n\n")
    assert "Why this time  the England and Wales guidance sets no time for this" in summary
    assert not any(term in summary for term in JARGON), summary
    assert f"Source: {calc.source}" in detail and calc.source.startswith("policy value in England and Wales")
    assert calc.basis == source_in_words(calc.source)
