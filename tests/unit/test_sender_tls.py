"""TLS towards the Application: certificates are verified by default, a
custom CA bundle makes a private Application trusted, and a client
certificate is presented when the Application demands one (mutual TLS).

A real HTTPS server (aiohttp) on 127.0.0.1 with certificates made by the
openssl command line; EventSender is the real one."""

from __future__ import annotations

import dataclasses
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from espf.dispatch.sender import EventSender
from espf.domain import AuthMethod, ClaimedDelivery, TlsSettings
from tests.factories import a_claimed_delivery, a_handler


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)


@dataclasses.dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A private CA, a server certificate for 127.0.0.1 and a client
    certificate, both signed by it."""
    d = tmp_path_factory.mktemp("pki")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl(
        "req",
        "-x509",
        *ec,
        "-days",
        "1",
        "-subj",
        "/CN=espf test CA",
        "-keyout",
        str(d / "ca.key"),
        "-out",
        str(d / "ca.pem"),
    )
    for name, extra in (
        ("server", ("-addext", "subjectAltName=IP:127.0.0.1")),
        ("client", ()),
    ):
        _openssl(
            "req",
            "-new",
            *ec,
            "-subj",
            f"/CN={name}",
            *extra,
            "-keyout",
            str(d / f"{name}.key"),
            "-out",
            str(d / f"{name}.csr"),
        )
        ext = d / f"{name}.ext"
        ext.write_text(
            "subjectAltName=IP:127.0.0.1\n" if name == "server" else "extendedKeyUsage=clientAuth\n"
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            str(d / f"{name}.csr"),
            "-CA",
            str(d / "ca.pem"),
            "-CAkey",
            str(d / "ca.key"),
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            str(ext),
            "-out",
            str(d / f"{name}.pem"),
        )
    return Pki(d / "ca.pem", d / "server.pem", d / "server.key", d / "client.pem", d / "client.key")


async def _https_application(pki: Pki, require_client_cert: bool) -> tuple[web.AppRunner, str]:
    async def accept(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/espf", accept)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki.ca)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"https://127.0.0.1:{port}/espf"


@pytest.fixture
async def https_url(pki: Pki) -> AsyncIterator[str]:
    runner, url = await _https_application(pki, require_client_cert=False)
    yield url
    await runner.cleanup()


@pytest.fixture
async def mtls_url(pki: Pki) -> AsyncIterator[str]:
    runner, url = await _https_application(pki, require_client_cert=True)
    yield url
    await runner.cleanup()


def _delivery(url: str, tls: TlsSettings, i_handler: int = 1) -> ClaimedDelivery:
    handler = a_handler(
        i_handler=i_handler,
        i_env=1,
        name="App",
        url=url,
        auth_method=AuthMethod.NONE,
        login=None,
        password=None,
        tls=tls,
    )
    return a_claimed_delivery(
        handler, i_delivery=1, i_event=1, event_type="Account/New", variables_json="{}"
    )


async def _send(delivery: ClaimedDelivery) -> tuple[int | None, str | None]:
    sender = EventSender(connections_per_handler=4)
    try:
        result = await sender.send(delivery)
    finally:
        await sender.close()
    return result.status_code, result.error


async def test_an_unknown_ca_is_refused_by_default(https_url: str) -> None:
    status, error = await _send(_delivery(https_url, TlsSettings()))
    assert status is None and error is not None
    assert "certificate" in error.lower()


async def test_a_custom_ca_bundle_makes_it_trusted(https_url: str, pki: Pki) -> None:
    status, error = await _send(_delivery(https_url, TlsSettings(ca_file=str(pki.ca))))
    assert (status, error) == (200, None)


async def test_verification_can_be_turned_off(https_url: str) -> None:
    status, _ = await _send(_delivery(https_url, TlsSettings(verify=False)))
    assert status == 200


async def test_mutual_tls_presents_the_client_certificate(mtls_url: str, pki: Pki) -> None:
    without = TlsSettings(ca_file=str(pki.ca))
    status, error = await _send(_delivery(mtls_url, without))
    assert status is None and error, "the Application demands a client certificate"
    with_cert = TlsSettings(
        ca_file=str(pki.ca), client_cert=str(pki.client_cert), client_key=str(pki.client_key)
    )
    status, error = await _send(_delivery(mtls_url, with_cert, i_handler=2))
    assert (status, error) == (200, None)
