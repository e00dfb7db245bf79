"""'Only the latest event is processed' (espf-reference.md): for these types,
when several undelivered events for the same account or customer wait for a
handler, only the latest is sent and the older ones end ``superseded``.

The coalesce key names the type and the account (or customer) so that the
store can find siblings with one indexed comparison.
"""

from __future__ import annotations

import orjson

from espf.standard_types import LATEST_ONLY_EVENT_TYPES

_KEY_VARIABLES = ("i_account", "i_customer")


def coalesce_key(event_type: str, i_event_type: int, variables_json: str) -> str | None:
    if event_type not in LATEST_ONLY_EVENT_TYPES:
        return None  # checked first: most events are not of these types
    variables = orjson.loads(variables_json)
    for name in _KEY_VARIABLES:
        value = variables.get(name)
        if value is not None and not isinstance(value, (dict, list)):
            return f"{i_event_type}:{name}={value}"
    return None  # without an account or customer there is nothing to coalesce on
