"""Start-up: the schema brought up to date, and the first administrator."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from espf.domain import Role
from espf.errors import BadRequest, Conflict, EspfError, MigrationFailed
from espf.passwords import (
    MIN_PASSWORD_LENGTH,
    check_new_password,
    generate_password,
    hash_password,
)
from espf.service.core import ServiceCore


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """What the first start created, to tell the operator once."""

    admin_login: str
    generated_password: str | None


class StartupOperations(ServiceCore):
    async def prepare_database(self) -> list[int]:
        """Apply pending migrations and make sure the built-in types exist."""
        try:
            applied = await self.store.migrate()
        except EspfError:
            raise  # the database is unreachable: already says so
        except Exception as exc:
            # A schema that does not match its recorded version (restored from
            # another backup, edited by hand) is for a person to look at.
            raise MigrationFailed(
                f"could not bring the database schema up to date: {exc}; the recorded "
                "version does not match the tables: restore a consistent backup"
            ) from exc
        await self.store.ensure_builtin_event_types(self.clock.now_ms())
        return applied

    async def bootstrap(self) -> Bootstrap | None:
        """On an empty database: environment 1 and its first administrator."""
        if await self.store.user_count() > 0:
            return None
        now = self.clock.now_ms()
        # Several processes may start on one empty database at once: the one
        # whose insert loses with Conflict leaves it to the other.
        if await self.store.env_get(1) is None:
            with contextlib.suppress(Conflict):
                await self.store.env_create(1, "default", now)
        login = self.settings.admin_login or "admin"
        password = self.settings.admin_password
        generated = None
        if not password:
            password = generated = generate_password()
        # The first administrator follows the same rule as every other user.
        try:
            weak = check_new_password(login, password, self.settings.admin_allow_weak_password)
        except BadRequest as error:
            raise BadRequest(
                f"ESPF_ADMIN_PASSWORD is shorter than {MIN_PASSWORD_LENGTH} characters; "
                "choose a longer one, or set ESPF_ADMIN_ALLOW_WEAK_PASSWORD=true to keep it",
                code=error.code,
            ) from None
        try:
            await self.store.user_create(
                1, login, hash_password(password), Role.ADMIN, now, weak_password=weak
            )
        except Conflict:
            return None
        return Bootstrap(admin_login=login, generated_password=generated)
