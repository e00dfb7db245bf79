"""Input rules the API and the CLI share: page sizes and variable filters."""

from __future__ import annotations

from espf.errors import BadRequest
from espf.names import VARIABLE_NAME

# The largest page any list answers.
MAX_PAGE = 1000


def check_page_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")


def parse_variable_filter(text: str) -> tuple[str, str]:
    """``i_account=541`` -> ("i_account", "541")."""
    name, separator, value = text.partition("=")
    if not separator or not VARIABLE_NAME.match(name.strip()):
        raise BadRequest(
            f"variable filter {text!r} is not NAME=VALUE, e.g. i_account=541",
            code="invalid_filter",
        )
    return name.strip(), value.strip()
