"""Reading the fields of a JSON request body, with messages that name the field."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from espf.errors import BadRequest


class Fields:
    """The fields of one JSON object; unknown fields are refused by name."""

    def __init__(self, body: Any, allowed: Iterable[str]) -> None:
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object", code="invalid_body")
        unknown = sorted(set(body) - set(allowed))
        if unknown:
            raise BadRequest(
                f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}",
                code="unknown_field",
            )
        self._body: dict[str, Any] = body

    def _get(self, name: str, required: bool) -> Any:
        value = self._body.get(name)
        if value is None and required:
            raise BadRequest(f"{name} is required", code="missing_field")
        return value

    def _wrong(self, name: str, kind: str) -> BadRequest:
        return BadRequest(f"{name} must be {kind}", code="invalid_field")

    def integer(self, name: str, required: bool = False, minimum: int = 1) -> int | None:
        value = self._get(name, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self._wrong(name, f"an integer of at least {minimum}")
        return value

    def require_integer(self, name: str, minimum: int = 1) -> int:
        value = self.integer(name, True, minimum)
        assert value is not None
        return value

    def text(self, name: str, required: bool = False, max_length: int = 4000) -> str | None:
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > max_length:
            raise self._wrong(name, f"a string of at most {max_length} characters")
        return value

    def require_text(self, name: str, max_length: int = 4000) -> str:
        value = self.text(name, True, max_length)
        assert value is not None
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        value = self._get(name, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._wrong(name, "true or false")
        return value

    def text_list(self, name: str) -> list[str]:
        value = self._get(name, False)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._wrong(name, "a list of strings")
        return value
