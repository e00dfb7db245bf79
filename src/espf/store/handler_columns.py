"""The columns of the handlers table, derived from the domain's dataclasses.

``Handler`` (and ``HandlerSettings``, the part an administrator sets) are the
one source: a field is a column of the same name, a nested settings group
(``retry``, ``tls``) is one column per field, prefixed (``retry_cap_s``).
The queries name the columns through macros the loader expands once, at
load (sql_loader.py), so that a new handler setting needs a migration and no
change in any query, row reader or parameter builder:

- ``{handler_columns}`` / ``{handler_columns:h}``: every column, in the order
  ``handler_from_row`` reads (with the table alias ``h.``);
- ``{handler_setting_columns}``, ``{handler_setting_values}`` and
  ``{handler_setting_assignments}``: the settings, for INSERT and UPDATE;
- ``{handler_copy_values}``: every column as a parameter, for ``espf copy``
  (PostgreSQL turns the 0/1 of SQLite booleans into booleans).

How a value is stored follows its type: an enum by its value, a boolean as
a boolean, a tuple of strings as a JSON list (NULL when empty); a setting left
unset gets the ``stored_default`` of its field's metadata, if it has one.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Sequence
from typing import Any

import orjson

from espf.domain import Handler, HandlerSettings


@dataclasses.dataclass(frozen=True, slots=True)
class Column:
    name: str  # of the column
    field: str  # of the dataclass
    sub: str | None  # the field inside a settings group (retry, tls), if in one
    group: Any  # that group's dataclass, if in one
    kind: Any  # the value's type, without "| None"
    stored_default: Any  # stored when the setting is left unset (None)


def _without_none(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def _flatten(cls: type) -> tuple[Column, ...]:
    columns = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        kind = _without_none(hints[f.name])
        if not dataclasses.is_dataclass(kind):
            default = f.metadata.get("stored_default")
            columns.append(Column(f.name, f.name, None, None, kind, default))
            continue
        sub_hints = typing.get_type_hints(kind)
        for sub in dataclasses.fields(kind):
            sub_kind = _without_none(sub_hints[sub.name])
            default = sub.metadata.get("stored_default")
            name = f"{f.name}_{sub.name}"
            columns.append(Column(name, f.name, sub.name, kind, sub_kind, default))
    return tuple(columns)


_HANDLER = _flatten(Handler)
_SETTINGS = _flatten(HandlerSettings)
HANDLER_COLUMNS = tuple(c.name for c in _HANDLER)
SETTING_COLUMNS = tuple(c.name for c in _SETTINGS)
BOOLEAN_COLUMNS = frozenset(c.name for c in _HANDLER if c.kind is bool)


def _read(column: Column, value: Any) -> Any:
    kind = column.kind
    if kind is bool:
        return bool(value)
    if typing.get_origin(kind) is tuple:
        return tuple(orjson.loads(value)) if value else ()
    if value is None:
        return None
    if kind is float or (isinstance(kind, type) and issubclass(kind, enum.Enum)):
        return kind(value)
    return value


def handler_from_row(row: Sequence[Any], offset: int = 0) -> Handler:
    """A Handler from ``{handler_columns}`` starting at ``row[offset]``."""
    values: dict[str, Any] = {}
    groups: dict[str, dict[str, Any]] = {}
    for column, value in zip(_HANDLER, row[offset : offset + len(_HANDLER)], strict=True):
        if column.sub is None:
            values[column.field] = _read(column, value)
        else:
            groups.setdefault(column.field, {})[column.sub] = _read(column, value)
    for column in _HANDLER:
        if column.sub is not None and column.field not in values:
            values[column.field] = column.group(**groups[column.field])
    return Handler(**values)


def _stored(column: Column, value: Any) -> Any:
    if (value is None or value == "") and column.stored_default is not None:
        value = column.stored_default
    if column.kind is bool:
        return bool(value)
    if isinstance(value, enum.Enum):
        return value.value
    if typing.get_origin(column.kind) is tuple:
        return orjson.dumps(list(value)).decode() if value else None
    return value


def handler_params(settings: HandlerSettings) -> dict[str, Any]:
    """The settings as query parameters named after their columns."""
    assert settings.auth_method is not None and settings.url is not None
    params = {}
    for column in _SETTINGS:
        value = getattr(settings, column.field)
        if column.sub is not None:
            # An unset group stores its fields' defaults.
            value = getattr(value if value is not None else column.group(), column.sub)
        params[column.name] = _stored(column, value)
    return params


def sql_macros(backend: str) -> dict[str, str]:
    """The text each macro of the module docstring stands for on ``backend``."""

    def copy_value(column: str) -> str:
        if backend == "postgres" and column in BOOLEAN_COLUMNS:
            return f"CAST(:{column} AS integer) <> 0"
        return f":{column}"

    return {
        "{handler_columns}": ", ".join(HANDLER_COLUMNS),
        "{handler_columns:h}": ", ".join(f"h.{c}" for c in HANDLER_COLUMNS),
        "{handler_setting_columns}": ", ".join(SETTING_COLUMNS),
        "{handler_setting_values}": ", ".join(f":{c}" for c in SETTING_COLUMNS),
        "{handler_setting_assignments}": ", ".join(f"{c} = :{c}" for c in SETTING_COLUMNS),
        "{handler_copy_values}": ", ".join(copy_value(c) for c in HANDLER_COLUMNS),
    }
