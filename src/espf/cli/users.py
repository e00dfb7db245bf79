"""``espf env ...`` and ``espf user ...``: environments and their API users."""

from __future__ import annotations

import click

from espf.cli.common import with_service
from espf.cli.output import table
from espf.domain import Role


@click.group()
def env() -> None:
    """Environments (i_env)."""


@env.command("create")
@click.option("--i-env", type=int, help="the id to give (default: the next free one)")
@click.argument("name")
@click.pass_context
def env_create(ctx: click.Context, i_env: int | None, name: str) -> None:
    created = with_service(ctx, lambda s: s.env_create(name, i_env))
    click.echo(f"Created environment #{created.i_env} {created.name}")


@env.command("list")
@click.pass_context
def env_list(ctx: click.Context) -> None:
    envs = with_service(ctx, lambda s: s.env_list())
    click.echo(table(["i_env", "name"], [(e.i_env, e.name) for e in envs]))


@click.group()
def user() -> None:
    """API users."""


@user.command("create")
@click.argument("i_env", type=int)
@click.argument("login")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option(
    "--role", type=click.Choice([r.value for r in Role]), default="admin", show_default=True
)
@click.pass_context
def user_create(ctx: click.Context, i_env: int, login: str, password: str, role: str) -> None:
    created = with_service(ctx, lambda s: s.user_create(i_env, login, password, Role(role)))
    click.echo(f"Created {created.role.value} user {created.login} in environment {created.i_env}")


@user.command("list")
@click.argument("i_env", type=int, required=False)
@click.pass_context
def user_list(ctx: click.Context, i_env: int | None) -> None:
    users = with_service(ctx, lambda s: s.user_list(i_env))
    click.echo(table(["i_env", "login", "role"], [(u.i_env, u.login, u.role.value) for u in users]))


@user.command("delete")
@click.argument("i_env", type=int)
@click.argument("login")
@click.pass_context
def user_delete(ctx: click.Context, i_env: int, login: str) -> None:
    """Delete an API user; the events it created stay. An environment keeps
    its last administrator."""
    with_service(ctx, lambda s: s.user_delete(i_env, login))
    click.echo(f"Deleted user {login} of environment {i_env}")


@user.command("set-role")
@click.argument("i_env", type=int)
@click.argument("login")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.pass_context
def user_set_role(ctx: click.Context, i_env: int, login: str, role: str) -> None:
    """Make a user an admin or a producer."""
    updated = with_service(ctx, lambda s: s.user_set_role(i_env, login, Role(role)))
    click.echo(f"User {updated.login} of environment {i_env} is now {updated.role.value}")
