"""The registry the servers are set up from agrees with what the workflow declares."""

from collections import Counter

import pytest
from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey

from worker.search_attribute_registry import SEARCH_ATTRIBUTES, cli_flags

# Custom attributes per type that SQL visibility (the PostgreSQL deployment) can hold per namespace.
SQL_VISIBILITY_LIMITS = {"Keyword": 10, "Int": 3, "Datetime": 3}


def test_names_are_unique() -> None:
    names = [name for name, _ in SEARCH_ATTRIBUTES]
    assert len(names) == len(set(names))


def test_fits_postgresql_visibility() -> None:
    for attribute_type, count in Counter(t for _, t in SEARCH_ATTRIBUTES).items():
        assert count <= SQL_VISIBILITY_LIMITS[attribute_type], attribute_type


def test_dev_server_flags_name_every_attribute() -> None:
    assert cli_flags()[:2] == ["--search-attribute", "CaseStage=Keyword"]
    assert len(cli_flags()) == 2 * len(SEARCH_ATTRIBUTES)


def test_matches_the_keys_the_workflow_declares() -> None:
    declared_module = pytest.importorskip("workflows.search_attributes")
    declared = {
        key.name: SearchAttributeIndexedValueType(key.indexed_value_type).name.title()
        for key in vars(declared_module).values()
        if isinstance(key, SearchAttributeKey)
    }
    assert declared == {name: attribute_type for name, attribute_type in SEARCH_ATTRIBUTES}
