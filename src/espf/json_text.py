"""Reading JSON that producers send, refusing what would not reach the
Application unchanged, with messages in the producer's terms.

orjson reads a whole number outside the 64-bit range as a float:
``123456789012345678901234567890`` would be stored and delivered as
``1.2345678901234568e+29``. Silently changing provisioning data is worse
than refusing it, so such a number is a 400 that names it and says to send
it as a string. (Decimal fractions are doubles in every JSON library the
Applications use; they are taken as they are.)
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from espf.errors import BadRequest

INT_MIN = -(2**63)
INT_MAX = 2**64 - 1  # orjson keeps unsigned 64-bit integers exact too
# A number that may lie outside the range has at least 19 digits; only then
# is the body read a second time, with the standard library, to find it.
_LONG_DIGITS = re.compile(rb"\d{19}")


def loads_exact(body: bytes, what: str = "the request body") -> Any:
    """Parse ``body`` as JSON; BadRequest saying what is wrong otherwise."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(_why_not_json(body, exc, what), code="malformed_json") from None
    if _LONG_DIGITS.search(body):
        try:
            json.loads(body, parse_int=_checked_int)
        except RecursionError:
            raise BadRequest(f"{what} is nested too deeply", code="too_deep") from None
    return value


def _checked_int(text: str) -> int:
    number = int(text)
    if not INT_MIN <= number <= INT_MAX:
        raise BadRequest(
            f"the number {text} is outside the range of a 64-bit integer "
            f"({INT_MIN} to {INT_MAX}) and would not reach the Application unchanged; "
            f'send it as a string ("{text}")',
            code="number_out_of_range",
        )
    return number


def _why_not_json(body: bytes, exc: orjson.JSONDecodeError, what: str) -> str:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as bad:
        return (
            f"{what} is not valid UTF-8: the byte 0x{body[bad.start]:02x} at offset "
            f"{bad.start} cannot be decoded; send JSON encoded in UTF-8"
        )
    return f"{what} is not valid JSON: {exc}"
