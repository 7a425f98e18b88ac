"""The custom search attributes every MAPPA case workflow upserts, as plain data.

`workflows/search_attributes.py` declares the typed keys the workflow uses; this list is what a Temporal
server must have registered before any case starts (an upsert of an unregistered attribute fails the
workflow task and retries forever). The dev stack, the test fixtures and the docker-compose setup service
all register exactly this list, and tests check that they agree.
"""

from collections.abc import Callable
from typing import Any, Literal

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.common import SearchAttributeKey

SearchAttributeType = Literal["Keyword", "Int", "Datetime"]

SEARCH_ATTRIBUTES: tuple[tuple[str, SearchAttributeType], ...] = (
    ("CaseStage", "Keyword"),
    ("CaseLevel", "Int"),
    ("CaseCategory", "Keyword"),
    ("Jurisdiction", "Keyword"),
    ("Area", "Keyword"),
    ("LeadAgency", "Keyword"),
    ("NextDeadlineAt", "Datetime"),
    ("NextDeadlineKind", "Keyword"),
    ("OpenBreaches", "Int"),
    # An imported case's own reference in the area's earlier system (set once, at import; never personal data).
    ("ImportRef", "Keyword"),
    # An import's own workflow: how many of the file's rows have settled (a count, never personal data).
    ("ImportRowsSettled", "Int"),
)


def cli_flags() -> list[str]:
    """`--search-attribute NAME=TYPE` flags for `temporal server start-dev`."""
    flags: list[str] = []
    for name, attribute_type in SEARCH_ATTRIBUTES:
        flags += ["--search-attribute", f"{name}={attribute_type}"]
    return flags


_INDEXED_VALUE_TYPES: dict[SearchAttributeType, IndexedValueType.ValueType] = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}

_KEY_FACTORIES: dict[SearchAttributeType, Callable[[str], SearchAttributeKey[Any]]] = {
    "Keyword": SearchAttributeKey.for_keyword,
    "Int": SearchAttributeKey.for_int,
    "Datetime": SearchAttributeKey.for_datetime,
}


def indexed_value_types() -> dict[str, IndexedValueType.ValueType]:
    """Name → type, as `OperatorService.add_search_attributes` wants them."""
    return {name: _INDEXED_VALUE_TYPES[attribute_type] for name, attribute_type in SEARCH_ATTRIBUTES}


def search_attribute_keys() -> list[SearchAttributeKey[Any]]:
    """Typed keys, as `WorkflowEnvironment.start_local(search_attributes=...)` wants them."""
    return [_KEY_FACTORIES[attribute_type](name) for name, attribute_type in SEARCH_ATTRIBUTES]
