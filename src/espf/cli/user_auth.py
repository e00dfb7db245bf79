"""``espf user set-password`` and ``espf user token ...``: the credentials
existing Applications log in with."""

from __future__ import annotations

import click

from espf.cli.common import password_option, weak_password_option, with_service
from espf.cli.output import table
from espf.clock import format_ms
from espf.service import Service


@click.command("set-password")
@click.argument("i_env", type=int)
@click.argument("login")
@password_option
@weak_password_option
@click.pass_context
def set_password(
    ctx: click.Context, i_env: int, login: str, password: str, allow_weak_password: bool
) -> None:
    """Give a user a new password; its login sessions end on every node.

    \b
    Example: espf user set-password 3 username --password secret --allow-weak-password
    """
    updated = with_service(
        ctx, lambda s: s.user_set_password(i_env, login, password, allow_weak_password)
    )
    weak = " (weak, allowed explicitly)" if updated.weak_password else ""
    click.echo(f"Password of user {updated.login} of environment {i_env} changed{weak}")


@click.group()
def token() -> None:
    """API tokens: log in with {"login", "token"} instead of a password."""


@token.command("create")
@click.argument("i_env", type=int)
@click.argument("login")
@click.option("--name", default="api token", show_default=True, help="what the token is for")
@click.pass_context
def token_create(ctx: click.Context, i_env: int, login: str, name: str) -> None:
    """Make a token for a user and print it once (only its hash is kept).

    \b
    Example: espf user token create 1 app --name billing-sync
    """

    async def create(service: Service) -> tuple[int, str]:
        user = await service.user_in_env(i_env, login)
        made, secret = await service.sessions.token_create(user, name)
        return made.i_api_token, secret

    i_api_token, secret = with_service(ctx, create)
    click.echo(f"Created API token #{i_api_token} for user {login} (shown once):")
    click.echo(secret)


@token.command("list")
@click.argument("i_env", type=int, required=False)
@click.argument("login", required=False)
@click.pass_context
def token_list(ctx: click.Context, i_env: int | None, login: str | None) -> None:
    """The API tokens (never the secrets), of one environment or user if given.

    \b
    Example: espf user token list 1 app
    """
    found = with_service(ctx, lambda s: s.sessions.token_list(i_env, login))
    click.echo(
        table(
            ["id", "i_env", "login", "name", "created", "last used"],
            [
                (
                    t.i_api_token,
                    t.i_env,
                    t.login,
                    t.name,
                    format_ms(t.created_at),
                    format_ms(t.last_used_at) if t.last_used_at is not None else "never",
                )
                for t in found
            ],
        )
    )


@token.command("revoke")
@click.argument("i_env", type=int)
@click.argument("login")
@click.argument("token_id", type=int)
@click.pass_context
def token_revoke(ctx: click.Context, i_env: int, login: str, token_id: int) -> None:
    """Delete an API token; the sessions opened with it end on every node.

    \b
    Example: espf user token revoke 1 app 2
    """
    with_service(ctx, lambda s: s.sessions.token_revoke(i_env, login, token_id))
    click.echo(f"Revoked API token #{token_id} of user {login}")


def register_user_auth_commands(user: click.Group) -> None:
    user.add_command(set_password)
    user.add_command(token)
