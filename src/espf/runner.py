"""Running the service: API and dispatcher in one process, or either alone."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import uvicorn

from espf.api import create_app
from espf.config import Settings
from espf.dispatch.dispatcher import Dispatcher
from espf.metrics import Metrics
from espf.service import Bootstrap, Service
from espf.store import create_store

log = logging.getLogger("espf")


class _Server(uvicorn.Server):
    """uvicorn, minus its signal handling: ours stops the dispatcher too, and
    uvicorn would re-raise the signal after shutdown and kill the process
    before in-flight deliveries are handed back."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def announce_bootstrap(boot: Bootstrap | None) -> None:
    if boot is None:
        return
    if boot.generated_password:
        print(
            f"Created administrator '{boot.admin_login}' of environment 1 with password "
            f"{boot.generated_password}\n(shown once; set ESPF_ADMIN_LOGIN and "
            "ESPF_ADMIN_PASSWORD before the first start to choose them)",
            flush=True,
        )
    else:
        print(f"Created administrator '{boot.admin_login}' of environment 1", flush=True)


def warn_unused_admin_settings(settings: Settings, boot: Bootstrap | None) -> None:
    """ESPF_ADMIN_LOGIN/PASSWORD make the first administrator of an empty
    database only; set on a database that has users, they change nothing,
    and a person who set them expects otherwise."""
    named = [
        f"ESPF_ADMIN_{name.upper()}"
        for name in ("login", "password")
        if getattr(settings, f"admin_{name}")
    ]
    if boot is None and named:
        log.warning(
            "%s %s set but not used: the database already has users, and the first "
            "administrator is made only on an empty database. Add one with "
            "'espf user create 1 LOGIN --role admin', or change a password with "
            "'espf user set-password 1 LOGIN'",
            " and ".join(named),
            "is" if len(named) == 1 else "are",
        )


async def run_service(settings: Settings, *, api: bool = True, dispatch: bool = True) -> None:
    store = create_store(settings.database_url, pool_size=settings.db_pool_size)
    await store.open()
    try:
        service = Service(store, settings)
        await service.prepare_database()
        boot = await service.bootstrap()
        announce_bootstrap(boot)
        warn_unused_admin_settings(settings, boot)
        await _run(service, settings, api=api, dispatch=dispatch)
    finally:
        await store.close()


async def _run(service: Service, settings: Settings, *, api: bool, dispatch: bool) -> None:
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_requested.set)

    metrics = Metrics()
    dispatcher = Dispatcher(service.store, settings, metrics=metrics) if dispatch else None
    if dispatcher is not None:
        service.event_listeners.append(dispatcher.notify)
    server = None
    if api:
        config = uvicorn.Config(
            create_app(service, metrics),
            host=settings.host,
            port=settings.port,
            access_log=False,
            log_level="warning",
            lifespan="off",
            # Keep idle producer connections open for reuse.
            timeout_keep_alive=30,
            ssl_certfile=settings.tls_cert,
            ssl_keyfile=settings.tls_key,
            # X-Forwarded-* only from the proxies the operator named.
            proxy_headers=bool(settings.forwarded_allow_ips),
            forwarded_allow_ips=settings.forwarded_allow_ips or None,
        )
        server = _Server(config)

    tasks: list[asyncio.Task[None]] = []
    if server is not None:
        tasks.append(asyncio.create_task(server.serve(), name="api"))
    if dispatcher is not None:
        tasks.append(asyncio.create_task(dispatcher.run(), name="dispatcher"))
    if server is not None:
        scheme = "https" if settings.tls_cert else "http"
        log.info("API listening on %s://%s:%d/espf/v1/", scheme, settings.host, settings.port)
    waiter = asyncio.create_task(stop_requested.wait())
    done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
    crashed = [task for task in done if task is not waiter and task.exception() is not None]
    log.info("stopping")
    if server is not None:
        server.should_exit = True
    if dispatcher is not None:
        await dispatcher.stop()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=settings.shutdown_grace_s + 5)
    waiter.cancel()
    if crashed:
        raise crashed[0].exception()  # type: ignore[misc]
    log.info("stopped")
