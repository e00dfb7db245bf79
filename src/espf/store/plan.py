"""A store operation written once, for every backend, as a plan.

A plan is a generator: it yields ``Step``s (a named query and its
parameters), receives each step's answer back, and returns the operation's
result. It never touches a connection, so one plan serves both backends:
SQLite runs it synchronously in its single writer thread (inside the group
commit), PostgreSQL awaits each step inside one asyncpg transaction. See
docs/architecture.md, "Delivery rules written once".

The answer to a step depends on its kind:

- ``rows``: every row the statement returned (a list of sequences);
- ``row``: the first row, or None;
- ``run``: how many rows the statement changed;
- ``run_many``: nothing; the statement runs once per parameter set;
- ``lock``: nothing. A lock serialises concurrent writers; a backend whose
  writes are serialised already (SQLite's one writer) skips it.

A parameter called ``ids`` is a list of integer ids; a backend that cannot
bind a list passes it in its own way (SQLite: as JSON for ``json_each``).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, TypeVar

T = TypeVar("T")

StepKind = Literal["rows", "row", "run", "run_many", "lock"]


# Not frozen: a frozen dataclass pays for object.__setattr__ on every
# statement of every plan; nothing changes a Step after it is yielded.
@dataclass(slots=True)
class Step:
    kind: StepKind
    query: str
    params: Any  # a mapping; for run_many, a sequence of mappings


Plan: TypeAlias = Generator[Step, Any, T]


def rows(query: str, params: Mapping[str, Any]) -> Step:
    return Step("rows", query, params)


def row(query: str, params: Mapping[str, Any]) -> Step:
    return Step("row", query, params)


def run(query: str, params: Mapping[str, Any]) -> Step:
    return Step("run", query, params)


def run_many(query: str, params: Sequence[Mapping[str, Any]]) -> Step:
    return Step("run_many", query, params)


def lock(query: str, params: Mapping[str, Any]) -> Step:
    return Step("lock", query, params)


def one_statement(kind: StepKind, query: str, params: Any) -> Plan[Any]:
    """A plan of a single statement, for writes that need no more."""
    return (yield Step(kind, query, params))


class IntegrityFailure(Exception):
    """A write broke a constraint; each backend turns its driver's error into
    this, so that the shared code decides what it means for the caller.

    ``kind``: ``unique`` (a row with that key exists), ``foreign_key`` (a row
    it refers to is gone) or ``other``; ``detail``: the database's words."""

    def __init__(self, kind: Literal["unique", "foreign_key", "other"], detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
