"""SQL kept in ``.sql`` files, loaded by name.

``sql/common/queries.sql`` holds the queries that are word for word the same
on every backend; ``sql/<backend>/queries.sql`` only those that differ. A name
is defined in one of the two, never both, so a backend's set is their union.
Where the dialects differ only in a spelling, a macro stands for it
(``{in_ids}``, ``{greatest}``); the lists of handler columns are macros too
(``{handler_columns}``...), derived from the domain's dataclasses
(handler_columns.py). The loader expands them once, at load.

A query starts at a ``-- name: <query_name>`` line and runs to the next one.
Comment lines before a name line document the query that follows.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from espf.store.handler_columns import sql_macros

_NAME_LINE = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


def parse_queries(text: str) -> dict[str, str]:
    queries: dict[str, str] = {}
    matches = list(_NAME_LINE.finditer(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        body_lines = [
            line
            for line in text[match.end() : end].strip().splitlines()
            if not line.lstrip().startswith("--")
        ]
        name = match.group(1)
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        queries[name] = "\n".join(body_lines).strip().rstrip(";")
    return queries


def _read_sql(folder: str, filename: str) -> str:
    return resources.files("espf.store").joinpath("sql", folder, filename).read_text()


@cache
def load_queries(backend: str, filename: str = "queries.sql") -> dict[str, str]:
    """``queries.sql``: the Store's operations, the same names on every
    backend (the common file and the backend's own). Another file holds
    statements one backend alone needs."""
    own = parse_queries(_read_sql(backend, filename))
    if filename != "queries.sql":
        return own
    common = parse_queries(_read_sql("common", filename))
    twice = sorted(common.keys() & own.keys())
    if twice:
        raise ValueError(f"{backend}/queries.sql repeats the common queries {twice}")
    macros = sql_macros(backend) | _DIALECT[backend]
    return {name: expand(sql, macros) for name, sql in (common | own).items()}


# What the two SQL dialects spell differently, inside queries otherwise the
# same. {in_ids}: membership in the list parameter :ids (see plan.py).
_DIALECT = {
    "sqlite": {"{in_ids}": "IN (SELECT value FROM json_each(:ids))", "{greatest}": "max"},
    "postgres": {"{in_ids}": "= ANY(:ids::bigint[])", "{greatest}": "greatest"},
}


def expand(sql: str, macros: dict[str, str]) -> str:
    """Macros written out once, at load: the handler column lists
    (handler_columns.py) and the dialect's spellings above."""
    if "{" not in sql:
        return sql
    for macro, text in macros.items():
        sql = sql.replace(macro, text)
    if re.search(r"\{\w+(:\w+)?\}", sql):
        raise ValueError(f"unknown macro in query: {sql[:200]!r}")
    return sql


@cache
def load_migrations(backend: str) -> tuple[tuple[int, str, str], ...]:
    """Numbered migrations ``NNNN_name.sql`` as ``(version, name, sql)``, in order."""
    folder = resources.files("espf.store").joinpath("sql", backend, "migrations")
    found = []
    for entry in folder.iterdir():
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text()))
    found.sort()
    versions = [version for version, _, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"{backend} migrations are not numbered 1..n without gaps: {versions}")
    return tuple(found)
