"""The provisioning status an Application reports for an account: which
account, which service group, which status, and its message. Shared by the
API's JSON and form-encoded readers, so both accept exactly the same."""

from __future__ import annotations

import re

from espf.domain import AccountKind, AccountRef, ProvisioningStatus
from espf.errors import BadRequest

# The groups the original names; any other is a custom group.
KNOWN_GROUPS = (
    "VoIP",
    "HSS",
    "PCRF",
    "IPTV",
    "WiMAX",
    "Netaccess",
    "NumberPortability",
    "LawfulInterception",
)
_KNOWN_BY_FOLDED = {group.casefold(): group for group in KNOWN_GROUPS}
_CUSTOM_GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")
MAX_MESSAGE_LENGTH = 4000
MAX_ACCOUNT_ID_LENGTH = 128
MAX_I_ACCOUNT = 2**63 - 1


def account_by_i_account(raw: str) -> AccountRef:
    """``/account/i/<i_account>/status``: a positive integer."""
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_I_ACCOUNT:
        raise BadRequest(f"i_account {raw!r} is not a positive integer", code="invalid_account")
    return AccountRef(AccountKind.I_ACCOUNT, str(int(text)))


def account_by_id(raw: str) -> AccountRef:
    """``/account/<id>/status``: the account's ID (often a phone number),
    printable, without spaces at either end."""
    text = raw.strip()
    if not text or len(text) > MAX_ACCOUNT_ID_LENGTH or not text.isprintable():
        raise BadRequest(
            f"account id must be 1 to {MAX_ACCOUNT_ID_LENGTH} printable characters",
            code="invalid_account",
        )
    return AccountRef(AccountKind.ID, text)


def provisioning_status(raw: str) -> ProvisioningStatus:
    """OK, IN_PROGRESS, RETRY or FAILED; case does not matter."""
    try:
        return ProvisioningStatus(raw.strip().upper())
    except ValueError:
        allowed = ", ".join(s.value for s in ProvisioningStatus)
        raise BadRequest(f"status {raw!r} is not one of {allowed}", code="invalid_status") from None


def service_group(raw: str) -> str:
    """A known group in its own spelling (``voip`` is ``VoIP``), or a custom
    one: a letter or digit, then up to 63 of letters, digits and ``_.:/-``."""
    text = raw.strip()
    known = _KNOWN_BY_FOLDED.get(text.casefold())
    if known is not None:
        return known
    if not _CUSTOM_GROUP.match(text):
        raise BadRequest(
            f"group {raw!r} is neither a known group ({', '.join(KNOWN_GROUPS)}) nor a "
            "custom one: 1 to 64 letters, digits and _.:/- starting with a letter or digit",
            code="invalid_group",
        )
    return text


def status_message(raw: str | None) -> str:
    message = raw or ""
    if len(message) > MAX_MESSAGE_LENGTH:
        raise BadRequest(
            f"message is longer than {MAX_MESSAGE_LENGTH} characters", code="invalid_message"
        )
    if "\0" in message:
        raise BadRequest("message contains a NUL character", code="invalid_message")
    return message
