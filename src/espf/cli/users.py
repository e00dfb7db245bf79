"""``espf env ...`` and ``espf user ...``: environments and their API users."""

from __future__ import annotations

import click

from espf.cli.common import password_option, weak_password_option, with_service
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
    """Create an environment (i_env); API users and handlers belong to one.

    \b
    Example: espf env create --i-env 3 production
    """
    created = with_service(ctx, lambda s: s.env_create(name, i_env))
    click.echo(f"Created environment #{created.i_env} {created.name}")


@env.command("list")
@click.pass_context
def env_list(ctx: click.Context) -> None:
    """List the environments.

    \b
    Example: espf env list
    """
    envs = with_service(ctx, lambda s: s.env_list())
    click.echo(table(["i_env", "name"], [(e.i_env, e.name) for e in envs]))


@click.group()
def user() -> None:
    """API users."""


@user.command("create")
@click.argument("i_env", type=int)
@click.argument("login")
@password_option
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default="producer",
    show_default=True,
    help="producer: create and read its own events; admin: everything in its environment",
)
@weak_password_option
@click.pass_context
def user_create(
    ctx: click.Context,
    i_env: int,
    login: str,
    password: str,
    role: str,
    allow_weak_password: bool,
) -> None:
    """Create an API user (a producer unless --role admin).

    \b
    Example: espf user create 1 app --password change-me-please --role admin
    """
    created = with_service(
        ctx, lambda s: s.user_create(i_env, login, password, Role(role), allow_weak_password)
    )
    weak = " (weak password, allowed explicitly)" if created.weak_password else ""
    click.echo(
        f"Created {created.role.value} user {created.login} in environment {created.i_env}{weak}"
    )


@user.command("list")
@click.argument("i_env", type=int, required=False)
@click.pass_context
def user_list(ctx: click.Context, i_env: int | None) -> None:
    """List API users (never a password), of one environment if given.

    \b
    Example: espf user list 1
    """
    users = with_service(ctx, lambda s: s.user_list(i_env))
    click.echo(
        table(
            ["i_env", "login", "role", "password"],
            [(u.i_env, u.login, u.role.value, "weak" if u.weak_password else "") for u in users],
        )
    )


@user.command("delete")
@click.argument("i_env", type=int)
@click.argument("login")
@click.pass_context
def user_delete(ctx: click.Context, i_env: int, login: str) -> None:
    """Delete an API user; the events it created stay.

    An environment keeps its last administrator.

    \b
    Example: espf user delete 1 retired
    """
    with_service(ctx, lambda s: s.user_delete(i_env, login))
    click.echo(f"Deleted user {login} of environment {i_env}")


@user.command("set-role")
@click.argument("i_env", type=int)
@click.argument("login")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.pass_context
def user_set_role(ctx: click.Context, i_env: int, login: str, role: str) -> None:
    """Make a user an admin or a producer.

    \b
    Example: espf user set-role 1 billing admin
    """
    updated = with_service(ctx, lambda s: s.user_set_role(i_env, login, Role(role)))
    click.echo(f"User {updated.login} of environment {i_env} is now {updated.role.value}")
