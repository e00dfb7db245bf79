"""`espf account export|expunge <i_env> <i_account>`: an account's whole
history as JSON lines, or deleted for a data-protection request."""

from __future__ import annotations

from typing import BinaryIO

import click

from espf.account_history import AccountExpunged, AccountHistory
from espf.cli.common import with_service
from espf.service import Service


@click.group("account")
def account() -> None:
    """An account's history: every event naming its i_account, with their
    deliveries, attempts and state changes, and its status reports."""


@account.command("export")
@click.argument("i_env", type=int)
@click.argument("i_account", type=int)
@click.option(
    "--output",
    "-o",
    type=click.File("wb"),
    default="-",
    help="write the JSON lines here (default: standard output)",
)
@click.pass_context
def export(ctx: click.Context, i_env: int, i_account: int, output: BinaryIO) -> None:
    """Write an account's whole history as JSON lines.

    Every event, delivery, attempt, state change and status report of the
    account, one record per line ("record" says which).

    Example: espf account export 1 541 > account-541.jsonl
    """

    async def run(service: Service) -> AccountHistory:
        return await service.account_export(i_env, i_account)

    for line in with_service(ctx, run).lines():
        output.write(line)


@account.command("expunge")
@click.argument("i_env", type=int)
@click.argument("i_account", type=int)
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@click.pass_context
def expunge(ctx: click.Context, i_env: int, i_account: int, yes: bool) -> None:
    """Delete an account's whole history; a record that it happened is kept.

    Refused while one of its deliveries is being sent.

    Example: espf account expunge 1 541 --yes
    """
    if not yes:
        click.confirm(
            f"Delete every event, delivery and status report of account {i_account} "
            f"in environment {i_env}? This cannot be undone",
            abort=True,
        )

    async def run(service: Service) -> AccountExpunged:
        return await service.account_expunge(i_env, i_account)

    done = with_service(ctx, run)
    click.echo(
        f"Expunged account {i_account}: {done.events} events, {done.deliveries} deliveries, "
        f"{done.attempts} attempts, {done.transitions} state changes, "
        f"{done.status_reports} status reports (expunge #{done.i_expunge} recorded)"
    )
