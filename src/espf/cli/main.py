"""The admin CLI. Its verbs follow the original's evctl, and it answers to
both names, ``espf`` and ``evctl``. Every command works directly on the
database (``--database-url`` / ``ESPF_DATABASE_URL``), like evctl on the
server itself."""

from __future__ import annotations

import sys
from typing import Any

import click

from espf.cli.account_history import account
from espf.cli.database import db
from espf.cli.event_types import type_
from espf.cli.events import event
from espf.cli.handlers import handler, secret
from espf.cli.maintenance import maintenance
from espf.cli.retention import prune
from espf.cli.schedules import schedule
from espf.cli.server import api, config, copy_command, dispatcher, migrate, serve
from espf.cli.user_auth import register_user_auth_commands
from espf.cli.users import env, user
from espf.config import ConfigError, load_settings


class _Group(click.Group):
    """Turns configuration errors into one clear line and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.option(
    "--database-url",
    envvar="ESPF_DATABASE_URL",
    help="sqlite:///path.db (default: sqlite:///espf.db) or postgresql://...",
)
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """espf: External System Provisioning Framework."""
    try:
        ctx.obj = load_settings(database_url=database_url)
    except ConfigError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)


# Each object's commands live in their own module; the root only gathers them.
for command in (
    serve,
    api,
    dispatcher,
    config,
    migrate,
    copy_command,
    env,
    user,
    type_,
    handler,
    event,
    schedule,
    secret,
    prune,
    db,
    account,
):
    main.add_command(command)

# ``user set-password`` and ``user token ...`` join the user group.
register_user_auth_commands(user)
handler.add_command(maintenance)
