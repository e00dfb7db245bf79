"""Which PostgreSQL failures mean "the database cannot be reached right now".

Those become ``espf.errors.Unavailable``: the API answers 503 with its JSON
body, the CLI exits with its code, the dispatcher logs and tries again. The
process itself lives on; the pool reconnects when the server is back. Every
other error (a constraint, a bug in a query) stays what it is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import asyncpg

from espf.errors import Unavailable
from espf.store.storage_full import postgres_full_cause

_UNREACHABLE: tuple[type[BaseException], ...] = (
    # SQLSTATE class 08: the connection failed or was never made.
    asyncpg.PostgresConnectionError,
    # Class 57: the server is shutting down or starting, or an administrator
    # ended our backend (pg_terminate_backend) or our statement.
    asyncpg.exceptions.OperatorInterventionError,
    # Class 53: too many connections, disk full, out of memory.
    asyncpg.exceptions.InsufficientResourcesError,
    # After a failover a connection may land on a standby for a while.
    asyncpg.exceptions.ReadOnlySQLTransactionError,
    # Refused, reset, unreachable host; TimeoutError is one too (connect,
    # pool acquire and statement timeouts).
    OSError,
)


def is_unreachable(exc: BaseException) -> bool:
    if isinstance(exc, _UNREACHABLE):
        return True
    # asyncpg says "connection is closed" (or "pool is closing") as an
    # InterfaceError, the same class it uses for misuse: tell them apart.
    return isinstance(exc, asyncpg.InterfaceError) and "clos" in str(exc)


@contextlib.contextmanager
def unavailable_when_unreachable() -> Iterator[None]:
    try:
        yield
    except Unavailable:
        raise
    except Exception as exc:
        # A full disk is reported as such by PgPool.run (storage_full.py).
        if is_unreachable(exc) and postgres_full_cause(exc) is None:
            raise Unavailable(
                f"the database cannot be reached ({type(exc).__name__}: {exc}); try again"
            ) from exc
        raise
