"""SQL kept in ``.sql`` files, one file of queries per backend, loaded by name.

A query starts at a ``-- name: <query_name>`` line and runs to the next one.
Comment lines before a name line document the query that follows.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

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


@cache
def load_queries(backend: str, filename: str = "queries.sql") -> dict[str, str]:
    """``queries.sql``: the Store's operations, the same names on every
    backend. Another file holds statements one backend alone needs."""
    text = resources.files("espf.store").joinpath("sql", backend, filename).read_text()
    return parse_queries(text)


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
