"""Reading the fields of a JSON request body, with messages that name the field.

A field given as ``null`` is taken as absent. Every value is checked against
the same bounds as the OpenAPI document states, so that what the document
allows the service accepts, and what it does not gets a 400 naming the field
instead of reaching the database (an integer past 64 bits, a NUL character
PostgreSQL cannot store, a number that would overflow the retry arithmetic).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from espf.errors import BadRequest

MAX_INT64 = 2**63 - 1
MAX_LIST_ITEMS = 100


class Fields:
    """The fields of one JSON object; unknown fields are refused by name."""

    def __init__(self, body: Any, allowed: Iterable[str], where: str = "") -> None:
        # ``where``: the enclosing field, for messages about nested objects.
        self._where = where
        if not isinstance(body, dict):
            raise BadRequest(
                f"{where or 'the body'} must be a JSON object",
                code="invalid_body" if not where else "invalid_field",
            )
        unknown = sorted(set(body) - set(allowed))
        if unknown:
            inside = f" in {where}" if where else ""
            raise BadRequest(
                f"unknown field(s){inside}: {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(allowed))}",
                code="unknown_field",
            )
        self._body: dict[str, Any] = body

    def _name(self, name: str) -> str:
        return f"{self._where}.{name}" if self._where else name

    def _get(self, name: str, required: bool) -> Any:
        value = self._body.get(name)
        if value is None and required:
            raise BadRequest(f"{self._name(name)} is required", code="missing_field")
        return value

    def _wrong(self, name: str, kind: str) -> BadRequest:
        return BadRequest(f"{self._name(name)} must be {kind}", code="invalid_field")

    def integer(
        self, name: str, required: bool = False, minimum: int = 1, maximum: int = MAX_INT64
    ) -> int | None:
        value = self._get(name, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise self._wrong(name, f"an integer from {minimum} to {maximum}")
        return value

    def require_integer(self, name: str, minimum: int = 1, maximum: int = MAX_INT64) -> int:
        value = self.integer(name, True, minimum, maximum)
        assert value is not None
        return value

    def number(
        self, name: str, minimum: float, maximum: float, exclusive_minimum: bool = True
    ) -> float | None:
        """A finite number; above ``minimum`` (or from it), up to ``maximum``."""
        value = self._get(name, False)
        if value is None:
            return None
        low_ok = isinstance(value, (int, float)) and (
            value > minimum if exclusive_minimum else value >= minimum
        )
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or not low_ok
            or value > maximum
        ):
            low = "more than" if exclusive_minimum else "at least"
            raise self._wrong(name, f"a number {low} {minimum:g} and at most {maximum:g}")
        return float(value)

    def text(self, name: str, required: bool = False, max_length: int = 4000) -> str | None:
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > max_length:
            raise self._wrong(name, f"a string of at most {max_length} characters")
        if "\0" in value:
            raise self._wrong(name, "a string without NUL characters")
        return value

    def require_text(self, name: str, max_length: int = 4000) -> str:
        value = self.text(name, True, max_length)
        assert value is not None
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.optional_flag(name)
        return default if value is None else value

    def optional_flag(self, name: str) -> bool | None:
        value = self._get(name, False)
        if value is not None and not isinstance(value, bool):
            raise self._wrong(name, "true or false")
        return value

    def text_list(
        self, name: str, max_items: int = MAX_LIST_ITEMS, max_length: int = 4000
    ) -> list[str]:
        value = self._get(name, False)
        if value is None:
            return []
        if (
            not isinstance(value, list)
            or len(value) > max_items
            or not all(isinstance(v, str) and len(v) <= max_length and "\0" not in v for v in value)
        ):
            raise self._wrong(
                name, f"a list of at most {max_items} strings of at most {max_length} characters"
            )
        return value

    def has(self, name: str) -> bool:
        return self._body.get(name) is not None

    def json_object(self, name: str) -> dict[str, Any] | None:
        """A JSON object of any keys (e.g. variables), checked by the caller."""
        value = self._get(name, False)
        if value is not None and not isinstance(value, dict):
            raise self._wrong(name, "a JSON object")
        return value

    def nested(self, name: str, allowed: Iterable[str]) -> Fields | None:
        """A JSON object inside this one, with its own allowed fields."""
        value = self._get(name, False)
        if value is None:
            return None
        return Fields(value, allowed, where=self._name(name))

    def choice(self, name: str, allowed: Iterable[str], required: bool = False) -> str | None:
        options = list(allowed)
        value = self.text(name, required, max_length=100)
        if value is not None and value not in options:
            raise self._wrong(name, f"one of {', '.join(options)}")
        return value

    def require_choice(self, name: str, allowed: Iterable[str]) -> str:
        value = self.choice(name, allowed, required=True)
        assert value is not None
        return value
