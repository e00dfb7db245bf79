"""What an operator relies on, with real processes: JSON log lines, secrets
kept out of logs and CLI output, HTTPS, and the health and readiness probes."""

from __future__ import annotations

import base64
import contextlib
import json
import sqlite3
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.espf_process import (
    ADMIN_PASSWORD,
    BIN,
    EspfProcess,
    basic_auth,
    utc_text,
    wait_until,
)
from tests.e2e.receiver import Receiver

pytestmark = pytest.mark.e2e

EVENT_TYPE = "Subscriber/Updated"  # a standard type: no `type create` needed


class Serving(EspfProcess):
    """``espf serve`` with extra command-line options. Its log (stderr) and
    its stdout are kept apart, since only the log is in the chosen format;
    with ``ca_file`` it is spoken to over HTTPS, trusting only that CA."""

    def __init__(self, workdir: Path, *serve_args: str, ca_file: Path | None = None) -> None:
        super().__init__(workdir)
        self.serve_args = serve_args
        self.stdout_path = workdir / "espf.stdout"
        self.tls = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> Serving:
        with self.log_path.open("ab") as log, self.stdout_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "espf"), "serve", *self.serve_args],
                env=self.env,
                cwd=self.workdir,
                stdout=out,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        wait_until(self._ready, timeout, f"espf to answer /healthz\n{self.log_tail()}")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"espf exited with {self.proc.returncode}\n{self.log_tail()}")
        try:
            return self.request("GET", "/healthz", timeout=1)[0] == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        auth: tuple[str, str] | None = None,
        timeout: float = 10,
    ) -> tuple[int, dict[str, str], Any]:
        """One request; (status, headers, JSON answer). No credentials unless given."""
        headers = {"Content-Type": "application/json"}
        if auth is not None:
            headers["Authorization"] = basic_auth(*auth)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=self.tls) as answer:
                return answer.status, dict(answer.headers), json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read())

    def call(
        self, method: str, body: Any, login: str = "admin", password: str = ADMIN_PASSWORD
    ) -> tuple[int, Any]:
        status, _, answer = self.request("POST", f"/espf/v1/{method}", body, (login, password))
        return status, answer

    def wait_for_state(self, i_event: int, state: str, timeout: float = 10.0) -> dict[str, Any]:
        """Poll event/get (cheaper than spawning `event show`) until the
        event is in ``state``; its outcomes are then all recorded."""

        def reached() -> dict[str, Any] | None:
            status, event = self.call("event/get", {"i_event": i_event})
            assert status == 200, event
            return event if event["state"] == state else None

        return wait_until(reached, timeout, f"event {i_event} to be {state}", interval=0.05)

    def json_log(self) -> list[dict[str, Any]]:
        """Every log line, each of which must be a JSON object."""
        records = []
        for number, line in enumerate(self.log_path.read_text().splitlines(), 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise AssertionError(f"log line {number} is not JSON: {line!r}") from None
            assert isinstance(record, dict), line
            records.append(record)
        return records


StartServing = Callable[..., Serving]


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[StartServing]:
    """Start ``Serving(tmp_path, *args, **options)``; stopped after the test."""
    started: list[Serving] = []

    def start(*args: str, ca_file: Path | None = None, **settings: str) -> Serving:
        process = Serving(tmp_path, *args, ca_file=ca_file)
        process.env.update(settings)
        started.append(process.start())
        return process

    yield start
    for process in started:
        process.stop()
        print(process.log_tail(80))  # shown by pytest only when the test failed


# -- (a) JSON log lines -------------------------------------------------------------------
def test_json_log_has_one_line_per_delivery_outcome_with_its_fields(
    serving: StartServing, receiver: Receiver
) -> None:
    espf = serving("--log-format", "json")
    espf.add_handler(1, "EventSender", receiver.url, "--auth", "none")
    espf.cli("handler", "subscribe", "1", "EventSender", EVENT_TYPE)

    receiver.answer_next(503)  # then 200: one retry, then delivered
    retried = espf.create_event({"event_type": EVENT_TYPE})
    assert espf.wait_for_state(retried, "delivered")["deliveries"][0]["attempts"] == 2
    receiver.answer_next(400)
    rejected = espf.create_event({"event_type": EVENT_TYPE})
    espf.wait_for_state(rejected, "rejected")
    espf.stop()  # every line written and flushed

    records = espf.json_log()
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys(), record
    outcomes = [
        (r["i_event"], r["handler"], r["status"], r["outcome"]) for r in records if "outcome" in r
    ]
    assert outcomes == [
        (retried, "EventSender", 503, "retry"),
        (retried, "EventSender", 200, "delivered"),
        (rejected, "EventSender", 400, "rejected"),
    ]
    # The message says the same in words, for people reading the JSON.
    delivered = next(r for r in records if r.get("outcome") == "delivered")
    assert f"i_event={retried}" in delivered["message"]


# -- (b) secrets never shown --------------------------------------------------------------
BASIC_PASSWORD = "basic-password-e2e-secret"
CUSTOM_TOKEN = "custom-token-e2e-secret"
SIGNING_KEY = base64.b64encode(b"signing-key-e2e-secret-32-bytes!").decode()
SIGNING_SECRET = "whsec_" + SIGNING_KEY
DB_PASSWORD = "db-password-e2e-secret"


def test_secrets_stay_out_of_the_debug_log_and_the_cli_output(
    serving: StartServing, receiver: Receiver
) -> None:
    espf = serving(ESPF_LOG_LEVEL="debug")
    url = receiver.url
    espf.add_handler(1, "Basic", url, "--login", "espf", "--password", BASIC_PASSWORD)
    espf.add_handler(
        1, "Custom", url, "--auth", "custom", "--auth-scheme", "Token", "--auth-token", CUSTOM_TOKEN
    )
    espf.add_handler(1, "Signed", url, "--auth", "signature", "--signing-secret", SIGNING_SECRET)
    for name in ("Basic", "Custom", "Signed"):
        status, answer = espf.call("handler/subscribe", {"name": name, "event_type": EVENT_TYPE})
        assert status == 200, answer

    # Each handler sends once with its secret, and once more after a 500,
    # so that the retry and error paths log too.
    receiver.answer_next(500, 500, 500)
    i_event = espf.create_event({"event_type": EVENT_TYPE, "variables": {"i_account": 7}})
    received = receiver.wait_for(6)
    espf.wait_for_state(i_event, "delivered")
    # The secrets were really used: their absence below means something.
    sent_auth = {value for r in received for value in r.header_values("Authorization")}
    assert basic_auth("espf", BASIC_PASSWORD) in sent_auth
    assert f"Token {CUSTOM_TOKEN}" in sent_auth
    assert any(r.header_values("webhook-signature") for r in received)
    espf.stop()

    log = espf.log_path.read_text() + espf.stdout_path.read_text()
    assert f"delivery i_event={i_event} handler=Signed" in log, log[-2000:]
    # The admin password is set in the environment here, so it is never printed.
    secrets = [
        BASIC_PASSWORD,
        basic_auth("espf", BASIC_PASSWORD).removeprefix("Basic "),
        CUSTOM_TOKEN,
        SIGNING_SECRET,
        SIGNING_KEY,
        ADMIN_PASSWORD,
    ]
    assert_absent(secrets, "the service log", log)

    for args in (
        ("handler", "list", "1"),
        ("handler", "show", "1", "Basic"),
        ("handler", "show", "1", "Custom"),
        ("handler", "show", "1", "Signed"),
    ):
        shown = espf.cli(*args)
        assert "Basic" in shown or "Custom" in shown or "Signed" in shown, shown
        assert_absent(secrets, " ".join(args), shown)

    # config show: the admin password and the password in a PostgreSQL URL
    # are masked; the command only reads settings, so no server is needed.
    config = run_config_show(
        espf,
        ESPF_DATABASE_URL=f"postgresql://espf:{DB_PASSWORD}@db.example.com:5432/espf",
    )
    assert_absent([*secrets, DB_PASSWORD], "config show", config)
    assert "database_url = 'postgresql://espf:********@db.example.com:5432/espf'" in config
    assert "admin_password = '********'" in config
    # The service above ran with these very settings, at level debug.
    assert "log_level = 'debug'" in config


def assert_absent(secrets: list[str], where: str, text: str) -> None:
    for secret in secrets:
        assert secret not in text, f"{secret!r} appears in {where}:\n{text[-3000:]}"


def run_config_show(espf: EspfProcess, **environment: str) -> str:
    done = subprocess.run(
        [str(BIN / "espf"), "config", "show"],
        env={**espf.env, **environment},
        cwd=espf.workdir,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout + done.stderr


# -- (c) HTTPS ----------------------------------------------------------------------------
def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key. The `cryptography` package is
    not a dependency of espf, so the openssl command line makes them."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-nodes", "-days", "1"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-keyout", str(key), "-out", str(cert)),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


def test_serve_with_tls_cert_and_key_speaks_https(serving: StartServing, tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    # Serving only trusts `cert`: start() reaching /healthz already proves
    # that this very certificate is served.
    espf = serving("--tls-cert", str(cert), "--tls-key", str(key), ca_file=cert)
    assert espf.base_url.startswith("https://")

    assert espf.request("GET", "/healthz")[::2] == (200, {"status": "ok"})
    i_event = espf.create_event({"event_type": EVENT_TYPE, "start_time": utc_text(2e9)})
    assert "Subscriber/Updated" in espf.event_show(i_event)

    # Plain HTTP on the same port gets no API answer.
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(f"http://127.0.0.1:{espf.port}/healthz", timeout=5)
    # Nor does a client that trusts only the usual authorities.
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(f"{espf.base_url}/healthz", timeout=5)


# -- (d) health and readiness --------------------------------------------------------------
def test_probes_answer_without_auth_and_readyz_wants_a_current_schema(
    serving: StartServing,
) -> None:
    espf = serving()
    status, headers, answer = espf.request("GET", "/healthz")
    assert (status, answer) == (200, {"status": "ok"})
    assert "WWW-Authenticate" not in headers
    status, _, answer = espf.request("GET", "/readyz")
    assert status == 200, answer
    assert answer["status"] == "ready"
    latest = answer["schema_version"]

    # The database falls a migration behind the running code, as after a
    # restore from an older backup. (Before a start it cannot be staged:
    # `espf serve` migrates on start.)
    database = espf.workdir / "espf.db"
    removed = edit_database(
        database,
        "DELETE FROM espf_migrations WHERE version = ? RETURNING version, name, applied_at",
        latest,
    )
    assert len(removed) == 1

    status, headers, answer = espf.request("GET", "/readyz")
    assert status == 503, answer
    assert answer["error"] == "schema_not_current"
    assert "espf migrate" in answer["message"]
    assert f"version {latest - 1}" in answer["message"]
    # Liveness stays 200: the process is sound, it is the database that must
    # change, and a failing liveness probe would only get it restarted.
    assert espf.request("GET", "/healthz")[0] == 200

    # Once the schema is current again, so is the answer: nothing is cached.
    edit_database(database, "INSERT INTO espf_migrations VALUES (?, ?, ?)", *removed[0])
    assert espf.request("GET", "/readyz")[0] == 200


def edit_database(path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run one statement on the SQLite file espf is serving, and commit."""
    assert path.exists(), path
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as conn, conn:
        return conn.execute(sql, params).fetchall()
