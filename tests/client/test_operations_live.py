"""Every API operation through the client, against a live espf: first the
check that each operation of the server's OpenAPI document has a method in
both clients, then one scenario that calls all of them, run once with
Client and once with AsyncClient."""

from __future__ import annotations

import contextlib
import functools
import inspect
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from espf.client import (
    AccountStatus,
    AsyncClient,
    BadRequest,
    BlockedKey,
    Client,
    Conflict,
    EventDetail,
    Forbidden,
    NotFound,
    RetrySettings,
    TlsSettings,
    Unauthorized,
)
from espf.signing import generate_signing_secret
from tests.client.conftest import Recorded, make_client
from tests.e2e.espf_process import EspfProcess, free_port, wait_until
from tests.e2e.receiver import Receiver


def operation_ids(document: dict[str, Any]) -> set[str]:
    return {
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }


def test_every_operation_of_the_openapi_document_has_a_method_in_both_clients(
    espf_server: EspfProcess,
) -> None:
    with Client(espf_server.base_url, "admin", "admin-password-e2e") as client:
        operations = operation_ids(client.openapi())
        assert len(operations) > 30, operations
        missing = sorted(op for op in operations if not callable(getattr(client, op, None)))
    assert not missing, f"Client has no method for these API operations: {', '.join(missing)}"
    async_client = AsyncClient(espf_server.base_url, "admin", "admin-password-e2e")
    missing = sorted(
        op for op in operations if not inspect.iscoroutinefunction(getattr(async_client, op, None))
    )
    assert not missing, (
        f"AsyncClient has no async method for these API operations: {', '.join(missing)}"
    )


def wait_delivered(espf: Recorded, i_event: int) -> EventDetail:
    def delivered() -> EventDetail | None:
        detail: EventDetail = espf.event_get(i_event)
        return detail if detail.state == "delivered" else None

    return wait_until(delivered, 15, f"event {i_event} delivered", interval=0.1)


def test_every_operation_against_a_live_espf(
    kind: str, espf_client: Recorded, espf_server: EspfProcess, application: Receiver
) -> None:
    espf = espf_client
    custom = f"Custom/Client{kind.capitalize()}"
    app = f"App{kind}"

    # Operations without credentials.
    assert espf.healthz() == {"status": "ok"}
    assert espf.readyz()["status"] == "ready"
    assert "espf_api_requests_total" in espf.metrics()
    assert espf.openapi()["openapi"].startswith("3.1")
    assert "<html" in espf.docs().lower()
    assert espf.docs_script() and espf.docs_style()

    # Event types.
    created_type = espf.event_type_create(custom)
    assert created_type.name == custom and created_type.i_event_type > 10000
    assert not created_type.builtin
    assert custom in {t.name for t in espf.event_type_list()}
    with pytest.raises(Conflict) as conflict:
        espf.event_type_create(custom)
    assert conflict.value.status == 409 and conflict.value.error

    # Handlers: every setting goes in, secrets come back masked.
    handler = espf.handler_create(
        app,
        application.url,
        login="espf",
        password="app-password",
        timeout=5,
        retry=RetrySettings(schedule="0.2", max_attempts=5),
        tls=TlsSettings(verify=True),
        auto_pause_after=3600,
    )
    assert handler.password == "********" and handler.login == "espf"
    assert handler.retry.schedule == "0.2" and handler.retry.max_attempts == 5
    assert handler.tls.verify is True
    assert espf.handler_get(app).url == application.url
    updated = espf.handler_update(app, timeout=7, retry=RetrySettings(max_attempts=9))
    assert updated.timeout == 7.0 and updated.retry.max_attempts == 9
    assert updated.retry.schedule == "0.2"  # retry changes field by field
    assert app in {h.name for h in espf.handler_list()}
    assert espf.handler_subscribe(app, custom).subscribed is True
    assert espf.handler_subscriptions(app).event_types == (custom,)
    assert espf.handler_unsubscribe(app, custom).subscribed is False
    assert espf.handler_subscribe(app, custom).subscribed is True
    assert espf.handler_pause(app, "maintenance").paused is True
    assert espf.handler_resume(app).paused is False
    assert espf.handler_disable(app).enabled is False
    assert espf.handler_enable(app).enabled is True
    limited = espf.handler_update(app, max_in_flight=4, max_rate=50, breaker_after=5)
    assert (limited.max_in_flight, limited.max_rate, limited.rate_burst) == (4, 50.0, 1)
    assert (limited.breaker_after, limited.effective_rate, limited.circuit.open) == (5, 50.0, False)
    window = espf.handler_maintenance_add(
        app, rule="weekly on tue at 23:00", time_zone="Europe/Prague", duration=3600
    )
    listed = espf.handler_maintenance_list(app)
    assert [w.id for w in listed.windows] == [window.id] and listed.next is not None
    assert espf.handler_maintenance_remove(app, window.id).windows == ()
    espf.handler_update(app, max_in_flight=0, max_rate=0)

    # Events: create, deliver, get, list, retry, replay.
    i_event = espf.event_create(custom, {"i_account": 541})
    detail = wait_delivered(espf, i_event)
    assert detail.variables == {"i_account": 541}
    assert detail.start_time.tzinfo is UTC
    (delivery,) = detail.deliveries
    assert delivery.handler == app and delivery.attempt_log[0].status_code == 200
    assert any(t.state == "delivered" for t in detail.history)
    retried = espf.delivery_retry(delivery.i_delivery)
    assert retried.i_delivery == delivery.i_delivery and retried.state == "pending"
    wait_until(lambda: len(application.received_for(i_event)) >= 2, 15, "the resend")
    wait_delivered(espf, i_event)
    assert espf.event_replay(handler=app, event_type=custom, dry_run=True).matched == 1
    replayed = espf.event_replay(handler=app, variable="i_account=541", states=["delivered"])
    assert replayed.replayed == 1 and replayed.dry_run is False
    wait_until(lambda: len(application.received_for(i_event)) >= 3, 15, "the replay")

    second = espf.event_create(custom, {"i_account": 542}, datetime.now(UTC) + timedelta(days=30))
    page = espf.event_list(event_type=custom, limit=1)
    assert [e.i_event for e in page.events] == [second] and page.next_cursor
    following = espf.event_list(event_type=custom, limit=1, cursor=page.next_cursor)
    assert [e.i_event for e in following.events] == [i_event]
    assert espf.event_list(event_type=custom, from_=datetime.now(UTC) + timedelta(1)).events == ()
    later = datetime(2031, 3, 1, tzinfo=UTC)
    assert espf.event_reschedule(second, later).start_time == later
    assert espf.event_cancel(second, "the customer left").state == "cancelled"
    local = espf.event_create(custom, start_time=datetime(2031, 3, 1), time_zone="Europe/Prague")
    local_event = espf.event_get(local)
    assert local_event.start_time == datetime(2031, 2, 28, 23, tzinfo=UTC)
    assert (local_event.local_start_time, local_event.time_zone) == (
        "2031-03-01 00:00:00",
        "Europe/Prague",
    )
    espf.event_cancel(local)

    schedule_key = f"i_account=541/{kind}"
    made = espf.schedule_create(
        schedule_key, custom, "monthly on day 1 at 00:00", "Europe/Prague", {"i_account": 541}
    )
    # The first of a month at midnight, in winter or summer time.
    assert made.next_local_time is not None and made.next_local_time[8:] in (
        "01 00:00:00+01:00",
        "01 00:00:00+02:00",
    )
    with pytest.raises(Conflict):
        espf.schedule_create(schedule_key, custom, "daily at 02:30", "Europe/Prague")
    replaced = espf.schedule_create(
        schedule_key, custom, "daily at 02:30", "Europe/Prague", replace=True, catch_up="latest"
    )
    assert replaced.i_schedule == made.i_schedule and replaced.catch_up == "latest"
    assert espf.schedule_get(i_schedule=made.i_schedule).key == schedule_key
    assert [s.key for s in espf.schedule_list(key_prefix=schedule_key).schedules] == [schedule_key]
    assert len(espf.schedule_preview(schedule_key, count=3)) == 3
    assert espf.schedule_pause(schedule_key).paused
    assert not espf.schedule_resume(schedule_key).paused
    assert espf.schedule_delete(schedule_key).deleted
    with pytest.raises(NotFound):
        espf.schedule_get(schedule_key)

    # An ordered handler whose Application is down: a key waits behind the first delivery.
    ordered = f"Ordered{kind}"
    espf.handler_create(ordered, f"http://127.0.0.1:{free_port()}/down", ordered=True, auth="none")
    assert espf.handler_subscribe_all(ordered).added > 1
    first = espf.event_create(custom, {"i_account": 7})
    behind = espf.event_create(custom, {"i_account": 7})

    def blocked() -> tuple[BlockedKey, ...] | None:
        keys: tuple[BlockedKey, ...] = espf.handler_blocked_keys(ordered)
        return keys if keys and keys[0].waiting == 1 else None

    (key,) = wait_until(blocked, 15, "a blocked key")
    assert key.order_key == "i_account=7" and key.blocked_by.i_event == first
    for i in (first, behind):
        wait_until(functools.partial(_cancelled, espf, i, ordered), 15, f"{i} cancelled")
    deleted = espf.handler_delete(ordered)
    assert deleted.deleted and deleted.history_name.startswith(ordered)

    # Users and roles.
    login = f"producer-{kind}"
    user = espf.user_create(login, "producer-password", "producer")
    assert user.role == "producer" and login in {u.login for u in espf.user_list()}
    producer = make_client(kind, espf_server.base_url, login, "producer-password")
    try:
        assert producer.event_create(custom) > 0
        with pytest.raises(Forbidden) as forbidden:
            producer.handler_list()
        assert forbidden.value.status == 403
    finally:
        producer.close()
    assert espf.user_set_role(login, "admin").role == "admin"

    # Passwords and API tokens.
    weak = espf.user_set_password(login, "secret", allow_weak_password=True)
    assert weak.weak_password is True
    with pytest.raises(BadRequest):
        espf.user_set_password(login, "short")
    made = espf.user_token_create(login, "billing")
    assert made.login == login and made.name == "billing" and made.token
    assert made.i_api_token in {t.i_api_token for t in espf.user_token_list(login)}
    assert espf.user_token_revoke(login, made.i_api_token).revoked is True
    assert espf.user_token_list(login) == ()
    assert espf.user_delete(login).deleted is True

    # Account status, by i_account and by id.
    reported = espf.account_status_report_by_i_account(541, "OK", "HSS", "roaming blocked")
    assert reported.i_account == 541 and reported.status == "OK" and reported.group == "HSS"
    status: AccountStatus = espf.account_status_read_by_i_account(541, group="HSS", limit=5)
    assert status.groups[0].message == "roaming blocked" and status.history
    account_id = f"1202555{kind}"
    assert espf.account_status_report_by_id(account_id, "FAILED", "VoIP").id == account_id
    assert espf.account_status_read_by_id(account_id).groups[0].status == "FAILED"

    # An account's history: exported as JSON lines, then expunged.
    account = 880_001 if kind == "sync" else 880_002
    mine = espf.event_create(custom, {"i_account": account})
    wait_delivered(espf, mine)
    espf.account_status_report_by_i_account(account, "OK", "HSS")
    records = espf.account_export(account)
    assert [r["i_event"] for r in records if r["record"] == "event"] == [mine]
    assert {r["record"] for r in records} >= {"event", "delivery", "attempt", "status"}
    expunged = espf.account_expunge(account)
    assert (expunged.events, expunged.status_reports) == (1, 1)
    assert espf.account_export(account) == []
    with pytest.raises(BadRequest):
        espf.account_export(0)

    # Errors carry the API's code, status and message.
    with pytest.raises(NotFound) as not_found:
        espf.event_get(10**9)
    assert not_found.value.status == 404 and not_found.value.message
    with pytest.raises(BadRequest) as bad:
        espf.event_create(custom, start_time="the first of March")
    assert bad.value.status == 400 and "start_time" in bad.value.message
    wrong = make_client(kind, espf_server.base_url, "admin", "wrong-password")
    try:
        with pytest.raises(Unauthorized):
            wrong.event_list()
    finally:
        wrong.close()

    _event_type_delete(espf, custom)
    signed = espf.handler_create(
        f"Signed{kind}",
        "http://127.0.0.1:9/espf",
        auth="signature",
        signing_secrets=[generate_signing_secret(), generate_signing_secret()],
    )
    assert signed.signing_secrets == ("********", "********") and signed.auth == "signature"

    # This scenario must keep covering the API: an operation added to the
    # server needs a method and a line here.
    not_called = operation_ids(espf.openapi()) - espf.called
    assert not not_called, f"not exercised against the live espf: {sorted(not_called)}"


def _cancelled(espf: Recorded, i_event: int, handler: str) -> bool:
    """The event's delivery to ``handler`` is cancelled (its delivery to the
    other handler may be done already)."""
    with contextlib.suppress(Conflict):  # in flight just now: try again
        espf.event_cancel(i_event, "test over")
    detail: EventDetail = espf.event_get(i_event)
    return any(d.handler == handler and d.state == "cancelled" for d in detail.deliveries)


def _event_type_delete(espf: Recorded, custom: str) -> None:
    """Refused while the type is in use; an unused type goes."""
    with pytest.raises(Conflict) as in_use:
        espf.event_type_delete(custom)
    assert in_use.value.message
    unused = f"{custom}Unused"
    espf.event_type_create(unused)
    assert espf.event_type_delete(unused).deleted is True
