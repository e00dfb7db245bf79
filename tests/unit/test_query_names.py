"""Both backends must offer the same queries and the same migrations: the
stores call queries by name, and a version number means the same schema on
either database."""

from __future__ import annotations

from importlib import resources

from espf.store.pg_sql import compile_named
from espf.store.sql_loader import load_migrations, load_queries, parse_queries

BACKENDS = ("sqlite", "postgres")


def test_both_backends_define_the_same_query_names() -> None:
    sqlite_names = set(load_queries("sqlite"))
    postgres_names = set(load_queries("postgres"))
    assert sorted(sqlite_names - postgres_names) == [], "only in sqlite/queries.sql"
    assert sorted(postgres_names - sqlite_names) == [], "only in postgres/queries.sql"


def test_both_backends_have_the_same_migration_numbers() -> None:
    sqlite_versions = [(v, n) for v, n, _ in load_migrations("sqlite")]
    postgres_versions = [(v, n) for v, n, _ in load_migrations("postgres")]
    assert sqlite_versions == postgres_versions


def test_no_query_is_empty() -> None:
    for backend in BACKENDS:
        for name, sql in load_queries(backend).items():
            assert sql.strip(), f"{backend} query {name} is empty"


def test_named_parameters_become_positional_once_each() -> None:
    query = compile_named("SELECT :a, :b::bigint, ':not_a_param', x::text WHERE y = :a")
    assert query.sql == "SELECT $1, $2::bigint, ':not_a_param', x::text WHERE y = $1"
    assert query.names == ("a", "b")
    assert query.args({"a": 1, "b": 2, "unused": 3}) == [1, 2]


def test_every_postgres_query_compiles() -> None:
    for filename in ("queries.sql", "backend_only.sql"):
        for name, sql in load_queries("postgres", filename).items():
            compiled = compile_named(sql)
            for parameter in compiled.names:
                assert f":{parameter}" not in compiled.sql.replace("::", "  "), name


def test_queries_the_same_on_every_backend_are_written_once() -> None:
    """A query word for word the same on both backends belongs in
    sql/common/queries.sql, so that a change to it is made once."""
    own = {
        backend: parse_queries(
            resources.files("espf.store").joinpath("sql", backend, "queries.sql").read_text()
        )
        for backend in BACKENDS
    }
    same = [name for name, sql in own["sqlite"].items() if own["postgres"].get(name) == sql]
    assert same == [], "move these to sql/common/queries.sql"
