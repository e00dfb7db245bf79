"""Named parameters for asyncpg.

The ``.sql`` files of both backends write parameters as ``:name``, so that
one set of parameter dicts (``params.py``) serves both. asyncpg only knows
positional ``$1, $2, ...``: each query is rewritten once, at load, with the
order of its names kept beside it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from espf.store.sql_loader import load_queries

# A quoted literal, a quoted identifier, a comment or a ``::`` cast is copied
# as is; only a ``:name`` outside them is a parameter.
_TOKEN = re.compile(
    r"""(?P<skip>'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|::)|:(?P<name>[A-Za-z_]\w*)"""
)


@dataclass(frozen=True, slots=True)
class PgQuery:
    sql: str
    names: tuple[str, ...]

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for ``params``; a missing name is a bug,
        so it raises KeyError rather than sending NULL."""
        return [params[name] for name in self.names]

    def many(self, rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
        return [self.args(row) for row in rows]


def compile_named(sql: str) -> PgQuery:
    names: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if match.group("skip") is not None:
            return match.group("skip")
        name = match.group("name")
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return PgQuery(_TOKEN.sub(replace, sql), tuple(names))


def load_pg_queries(filename: str = "queries.sql") -> dict[str, PgQuery]:
    return {name: compile_named(sql) for name, sql in load_queries("postgres", filename).items()}
