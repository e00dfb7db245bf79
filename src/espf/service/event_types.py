"""Event types: the built-in ones and custom ones, shared by every environment."""

from __future__ import annotations

from collections.abc import Iterable

from espf.domain import EventType, EventTypeUsage
from espf.errors import Conflict, NotFound
from espf.names import CUSTOM_PREFIX, normalize_custom_type_name, normalize_event_type_name
from espf.service.core import ServiceCore


class EventTypeOperations(ServiceCore):
    async def type_create(self, raw_name: str) -> EventType:
        name = normalize_custom_type_name(raw_name)
        created = await self.store.event_type_create_custom(name, self.clock.now_ms())
        self._types_by_name[name] = created
        return created

    async def type_list(self) -> list[EventType]:
        return await self.store.event_type_list()

    async def type_delete(self, raw_name: str, i_env: int | None = None) -> EventType:
        """Delete a custom type nothing uses: no subscription and no event in
        any environment (types are shared by all). ``i_env``: the asking
        environment, whose handlers the refusal names; others are only counted."""
        name = normalize_event_type_name(raw_name)
        found = await self.store.event_type_get_by_name(name)
        if found is None:
            raise NotFound(f"event type {name!r} does not exist", code="unknown_event_type")
        if found.builtin:
            raise Conflict(
                f"event type {name} is built in; only custom types can be deleted",
                code="builtin_event_type",
            )
        if not await self.store.event_type_delete(found.i_event_type, self.clock.now_ms()):
            usage = await self.store.event_type_usage(found.i_event_type, i_env or 0)
            raise Conflict(type_in_use_message(name, usage, i_env), code="event_type_in_use")
        self._types_by_name.pop(name, None)
        return found

    async def type_get(self, raw_name: str) -> EventType:
        name = normalize_event_type_name(raw_name)
        known = self._types_by_name.get(name)
        if known is not None:
            return known
        found = await self.store.event_type_get_by_name(name)
        if found is None:
            names = [t.name for t in await self.store.event_type_list()]
            raise NotFound(unknown_type_message(name, names), code="unknown_event_type")
        # Types are never renamed, and deleted only when unused; a type another
        # process deletes is caught by the store (NotFound), which evicts it.
        self._types_by_name[name] = found
        return found


def type_in_use_message(name: str, usage: EventTypeUsage, i_env: int | None) -> str:
    """Why a type cannot be deleted, naming only what the asker may see."""
    reasons = []
    if usage.subscribers_here:
        reasons.append(f"subscribed by handler(s) {', '.join(usage.subscribers_here)}")
    if usage.events_here:
        reasons.append(f"{usage.events_here} event(s) of this type")
    elsewhere = usage.subscriptions_elsewhere or usage.events_elsewhere
    if i_env is None and elsewhere:  # the CLI on the server sees every environment
        reasons.append(
            f"{usage.subscriptions_elsewhere} subscription(s) and {usage.events_elsewhere} event(s)"
        )
    elif elsewhere:
        reasons.append("subscriptions or events in other environments")
    if not reasons:  # used a moment ago, gone now: a retry will succeed
        reasons.append("a subscription or event created meanwhile")
    return f"event type {name} is in use: {'; '.join(reasons)}"


def unknown_type_message(name: str, known: Iterable[str]) -> str:
    """What to say when an event type does not exist: a hint that works when
    followed, whatever the mistake was (the case of a letter, a custom type
    without its 'Custom/' prefix, or one that simply was never created)."""
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
