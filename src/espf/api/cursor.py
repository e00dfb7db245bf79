"""Opaque pagination cursors.

A cursor is where the next page starts (the last id of this page, since
pages go newest first), wrapped so that clients treat it as a token rather
than an id to compute with: the paging key may change without breaking them.
It carries no secret and grants nothing: every page is filtered by the
caller's environment and rights again.
"""

from __future__ import annotations

import base64
import binascii

from espf.errors import BadRequest

_VERSION = "1"
MAX_CURSOR_LENGTH = 200


def encode_cursor(kind: str, position: int) -> str:
    raw = f"{_VERSION}:{kind}:{position}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(kind: str, cursor: str) -> int:
    """The position in ``cursor``, or BadRequest if it is not one of ours for ``kind``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        version, found_kind, position = (
            base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii").split(":")
        )
        value = int(position)
        if version != _VERSION or found_kind != kind or not 0 < value < 2**63:
            raise ValueError
    except (ValueError, UnicodeError, binascii.Error):
        raise BadRequest(
            "cursor is not one this method gave: pass next_cursor from the previous answer as is",
            code="invalid_cursor",
        ) from None
    return value
