"""What every CLI command needs: the settings, an event loop, a service."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import click

from espf.config import Settings
from espf.errors import EspfError
from espf.service import Service
from espf.store import create_store

T = TypeVar("T")


def run_async(coro: Awaitable[T]) -> T:
    try:
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro)  # type: ignore[arg-type]
    except ImportError:
        return asyncio.run(coro)  # type: ignore[arg-type]


def settings_of_context(ctx: click.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


@contextlib.asynccontextmanager
async def open_service(settings: Settings) -> AsyncIterator[Service]:
    """The service on an open database, closed again on the way out."""
    store = create_store(settings.database_url, pool_size=settings.db_pool_size)
    await store.open()
    try:
        yield Service(store, settings)
    finally:
        await store.close()


def run_or_exit(coro: Awaitable[T]) -> T:
    """Run ``coro``; an espf error becomes ``error: <message>`` and its exit code."""
    try:
        return run_async(coro)
    except EspfError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(error.exit_code)


def with_service(ctx: click.Context, action: Callable[[Service], Awaitable[T]]) -> T:
    """Open the database, bring its schema up to date, run ``action``."""
    settings = settings_of_context(ctx)

    async def run() -> T:
        async with open_service(settings) as service:
            await service.prepare_database()
            return await action(service)

    return run_or_exit(run())


# The password options of ``user create`` and ``user set-password``.
password_option = click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="at least 8 characters; asked for (twice, not echoed) when not given",
)
weak_password_option = click.option(
    "--allow-weak-password",
    is_flag=True,
    help="accept a password shorter than 8 characters (an existing Application's); logged",
)
