"""What to say when an event type does not exist: a hint that works when
followed, whatever the mistake was (the case of a letter, a custom type
without its 'Custom/' prefix, or one that simply was never created)."""

from __future__ import annotations

from collections.abc import Iterable

from espf.names import CUSTOM_PREFIX


def unknown_type_message(name: str, known: Iterable[str]) -> str:
    lowered = name.lower()
    same_but_case = sorted(k for k in known if k.lower() == lowered)
    if same_but_case:
        return (
            f"event type {name!r} does not exist; names are case-sensitive: "
            f"did you mean {same_but_case[0]!r}?"
        )
    if name.startswith(CUSTOM_PREFIX):
        return f"event type {name!r} does not exist; create it with 'espf type create {name}'"
    if lowered.startswith(CUSTOM_PREFIX.lower()):
        fixed = CUSTOM_PREFIX + name[len(CUSTOM_PREFIX) :]
        return (
            f"event type {name!r} does not exist; custom types start with {CUSTOM_PREFIX!r} "
            f"(a capital C): create it with 'espf type create {fixed}'"
        )
    return (
        f"event type {name!r} does not exist; 'espf type list' shows the known types, and "
        f"a custom one is made with 'espf type create {CUSTOM_PREFIX}{name}'"
    )
