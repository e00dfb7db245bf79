"""Turning an answer's JSON into the dataclasses of models.py, guided by
their type hints: nested dataclasses, tuples of them, optional fields, and
the API's UTC time text ('YYYY-MM-DD HH:MM:SS[.mmm]')."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import UTC, datetime
from typing import Any, TypeVar

from espf.client import models

T = TypeVar("T")


class DecodeError(ValueError):
    """An answer did not have the shape the client expects."""


def parse_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        raise DecodeError(f"not an API time: {text!r}") from None


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls, vars(models))
    return hints


def decode(cls: type[T], data: Any) -> T:
    """An instance of the dataclass ``cls`` from a JSON object; unknown keys are ignored."""
    if not isinstance(data, dict):
        raise DecodeError(f"expected a JSON object for {cls.__name__}, got {data!r:.200}")
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for item in dataclasses.fields(cls):  # type: ignore[arg-type]
        if item.name in data:
            values[item.name] = _convert(hints[item.name], data[item.name])
    try:
        return cls(**values)
    except TypeError as exc:
        raise DecodeError(f"{cls.__name__}: {exc}") from None


def _convert(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(inner, value)
    if origin is tuple:
        return tuple(_convert(typing.get_args(hint)[0], item) for item in value or ())
    if hint is datetime:
        return parse_time(value)
    if hint is float and isinstance(value, int):
        return float(value)
    if dataclasses.is_dataclass(hint):
        return decode(typing.cast(type[Any], hint), value)
    return value
