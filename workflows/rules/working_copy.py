"""A cheap copy of the case file for checking an event without changing the case: every model, list and dict new,
every immutable value shared (what a deep copy gives, at about a third of the cost).
"""

from __future__ import annotations

import copy
from datetime import date, time, timedelta
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel

# Values a rule never changes in place: a working copy shares them with the case file.
_SHARED = (str, int, float, type(None), date, time, timedelta, Enum)


_set = object.__setattr__


_T = TypeVar("_T")


def working_copy(value: _T) -> _T:
    """A copy of `value` in which every model, list and dict is new and the immutable values are shared: what
    `model_copy(deep=True)` gives for the case file (whose other values are all immutable), at a third of the cost
    (no memo, no dispatch per string or date). Anything else is deep-copied."""
    return _copy(value)  # type: ignore[no-any-return]


def _copy(value: Any) -> Any:
    if isinstance(value, _SHARED):
        return value
    kind = type(value)
    if isinstance(value, BaseModel):
        new = object.__new__(kind)
        _set(
            new, "__dict__", {k: v if isinstance(v, _SHARED) else _copy(v) for k, v in value.__dict__.items()}
        )
        _set(new, "__pydantic_fields_set__", set(value.__pydantic_fields_set__))
        extra, private = value.__pydantic_extra__, value.__pydantic_private__
        _set(new, "__pydantic_extra__", None if extra is None else _copy(extra))
        _set(new, "__pydantic_private__", None if private is None else _copy(private))
        return new
    if kind is list:
        return [v if isinstance(v, _SHARED) else _copy(v) for v in value]
    if kind is dict:
        return {k: v if isinstance(v, _SHARED) else _copy(v) for k, v in value.items()}
    if kind is tuple:
        return tuple(_copy(v) for v in value)
    return copy.deepcopy(value)
