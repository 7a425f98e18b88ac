"""The request guard's pure parts: the JSON depth gauge read piece by piece, and the table of body limits,
which must cover every route that takes a body and be the one the README quotes."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from api.app import create_app
from api.request_limits import BODY_LIMITS, MAX_JSON_DEPTH, JsonDepthGauge, body_limit_for

README = Path(__file__).resolve().parents[2] / "README.md"

# Strings full of what could fool a bracket counter: brackets, quotes, backslashes, escapes.
tricky_text = st.text(alphabet=st.sampled_from(list('[]{}"\\/ nu0aé\n\t')), max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(tricky_text, inner, max_size=3),
    max_leaves=30,
)


def nesting(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((nesting(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((nesting(item) for item in value.values()), default=0)
    return 0


def pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@given(json_values, st.lists(st.integers(min_value=0), max_size=8), st.booleans())
def test_the_depth_of_any_json_is_measured_however_the_body_arrives_in_pieces(
    value: Any, cuts: list[int], ascii_only: bool
) -> None:
    data = json.dumps(value, ensure_ascii=ascii_only).encode()
    gauge = JsonDepthGauge()
    for piece in pieces(data, cuts):
        gauge.feed(piece)
    assert gauge.deepest == nesting(value)


def test_a_200000_deep_array_is_measured_without_recursion() -> None:
    gauge = JsonDepthGauge()
    for _ in range(200):
        gauge.feed(b"[" * 1000)
    assert gauge.deepest == 200_000 > MAX_JSON_DEPTH


def test_brackets_inside_strings_are_not_nesting() -> None:
    gauge = JsonDepthGauge()
    gauge.feed(json.dumps({"summary": "[[[[" * 100 + '\\"' + "{{{{" * 100}).encode())
    assert gauge.deepest == 1


def test_every_route_that_takes_a_body_has_a_limit_and_others_take_none() -> None:
    document = create_app().openapi()
    for template, operations in document["paths"].items():
        path = re.sub(r"\{[a-z_]+\}", "X", template)
        for method, operation in operations.items():
            limit = body_limit_for(method.upper(), path)
            if "requestBody" in operation:
                assert limit is not None, f"{method.upper()} {template} takes a body but has no limit"
    # Routes that take a body the schema does not describe (the import file, the sign-in forms).
    for route in ("POST /imports", "POST /codec/login", "POST /ops/session"):
        method, path = route.split(" ")
        assert body_limit_for(method, path) is not None
    assert body_limit_for("POST", "/ops/session/end") is None
    assert body_limit_for("GET", "/cases/X") is None


def test_the_readme_lists_each_routes_body_limit() -> None:
    readme = README.read_text()
    for limit in BODY_LIMITS:
        size = (
            f"{limit.max_bytes // (1024 * 1024)} MiB"
            if limit.max_bytes >= 1024 * 1024
            else f"{limit.max_bytes // 1024} KiB"
        )
        assert re.search(rf"`{re.escape(limit.route)}`[^\n]*\| {size} \|", readme), (
            f"README: no row for `{limit.route}` at {size}"
        )
    assert f"{MAX_JSON_DEPTH} levels" in readme
