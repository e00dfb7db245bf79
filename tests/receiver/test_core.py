"""The framework-neutral receiver: verification, parsing, routing, outcome
mapping and deduplication, on requests built with espf's own sender code."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import timedelta
from email.utils import formatdate
from pathlib import Path

import pytest

from espf.receiver import (
    Authenticator,
    BasicAuth,
    Claim,
    DedupStore,
    Event,
    IncomingRequest,
    MemoryDedup,
    NoAuth,
    Receiver,
    Reject,
    RetryLater,
    SignatureAuth,
    SqliteDedup,
    TokenAuth,
)
from tests.receiver.requests import OLD_SECRET, SECRET, basic, body_of, request, signed


class Recorder:
    """A handler that records the events it was given."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)


def basic_receiver(**options: object) -> tuple[Receiver, Recorder]:
    receiver = Receiver(BasicAuth("espf", "s3cret"), **options)  # type: ignore[arg-type]
    recorder = Recorder()
    receiver.route("Custom/NextMonth", recorder)
    return receiver, recorder


def test_a_good_request_reaches_the_handler_as_an_event() -> None:
    receiver, recorder = basic_receiver()
    answer = receiver.handle(request(body_of(i_event=623623, i_account=541), basic()))
    assert answer.status == 200 and answer.body["status"] == "processed"
    (event,) = recorder.events
    assert (event.event_type, event.i_event, event.i_env) == ("Custom/NextMonth", 623623, 1)
    assert event.variables == {"i_account": 541, "i_event": 623623, "i_env": 1}
    assert event.variable("i_account") == 541 and event.webhook_id is None


# -- bad input: a 4xx that says what is wrong, and no handler call --------------------------

SIGNATURE = SignatureAuth([SECRET])
BODY = body_of()


def bad_requests() -> dict[str, tuple[Authenticator, IncomingRequest, int, str]]:
    """Built when a test runs: the Date and timestamps are relative to now."""
    now = time.time()
    return {
        "wrong password": (
            BasicAuth("espf", "s3cret"),
            request(BODY, basic(password="guess")),
            401,
            "wrong login or password",
        ),
        "no credentials": (
            BasicAuth("espf", "s3cret"),
            request(BODY, {}),
            401,
            "header is missing",
        ),
        "missing Date": (
            BasicAuth("espf", "s3cret"),
            request(BODY, basic(), date=None),
            400,
            "Date header is missing",
        ),
        "Date not a date": (
            BasicAuth("espf", "s3cret"),
            request(BODY, basic(), date="yesterday"),
            400,
            "not an HTTP date",
        ),
        "Date an hour old": (
            BasicAuth("espf", "s3cret"),
            request(BODY, basic(), date=formatdate(now - 3600, usegmt=True)),
            400,
            "old",
        ),
        "tampered body": (
            SIGNATURE,
            request(body_of(i_account=999), signed(body_of(i_account=1))),
            401,
            "no webhook-signature matches",
        ),
        "timestamp too old": (
            SIGNATURE,
            request(BODY, signed(BODY, at=now - 600)),
            401,
            "old, more than",
        ),
        "timestamp in the future": (
            SIGNATURE,
            request(BODY, signed(BODY, at=now + 600)),
            401,
            "in the future",
        ),
        "unknown secret": (
            SIGNATURE,
            request(BODY, signed(BODY, secrets=(OLD_SECRET,))),
            401,
            "no webhook-signature",
        ),
        "no signature headers": (SIGNATURE, request(BODY, basic()), 401, "webhook-id"),
        "wrong token": (
            TokenAuth("Token", "t0k3n"),
            request(BODY, {"Authorization": "Token nope"}),
            401,
            "wrong Token token",
        ),
        "malformed JSON": (
            NoAuth(),
            request(b'{"event_type": "Custom/NextMonth",', {}),
            400,
            "not JSON",
        ),
        "no event_type": (
            NoAuth(),
            request(b'{"variables": {"i_event": 1, "i_env": 1}}', {}),
            400,
            "no event_type",
        ),
        "no i_event": (
            NoAuth(),
            request(b'{"event_type": "Custom/NextMonth", "variables": {}}', {}),
            400,
            "i_event",
        ),
        "a JSON list": (NoAuth(), request(b"[1, 2]", {}), 400, "JSON object"),
        "GET": (NoAuth(), request(BODY, {}, method="GET"), 405, "POST"),
    }


@pytest.mark.parametrize("case", sorted(bad_requests()))
def test_bad_input_is_a_4xx_with_a_clear_message_and_no_handler_call(case: str) -> None:
    auth, bad, status, clue = bad_requests()[case]
    receiver = Receiver(auth)
    recorder = Recorder()
    receiver.route("*", recorder)
    answer = receiver.handle(bad)
    assert answer.status == status, answer
    assert clue in answer.body["message"], answer.body
    assert answer.body["error"]
    assert recorder.events == []


def test_signatures_verify_with_any_secret_of_a_rotation() -> None:
    receiver = Receiver(SignatureAuth([SECRET, OLD_SECRET]))
    recorder = Recorder()
    receiver.route("Custom/*", recorder)
    # espf still signs with the old secret only, then with both, newest first.
    for number, secrets in enumerate([(OLD_SECRET,), (SECRET, OLD_SECRET), (SECRET,)], start=1):
        body = body_of(i_event=number)
        answer = receiver.handle(request(body, signed(body, secrets, msg_id=f"espf_{number}_1")))
        assert answer.status == 200, answer
    assert [e.webhook_id for e in recorder.events] == ["espf_1_1", "espf_2_1", "espf_3_1"]


def test_the_timestamp_tolerance_is_configurable_on_each_side() -> None:
    receiver = Receiver(
        SignatureAuth([SECRET], past=timedelta(hours=1), future=timedelta(seconds=0)),
        require_date=False,
    )
    receiver.route("*", Recorder())
    ok = receiver.handle(request(BODY, signed(BODY, at=time.time() - 1800), date=None))
    ahead = receiver.handle(request(BODY, signed(BODY, at=time.time() + 30), date=None))
    assert (ok.status, ahead.status) == (200, 401)


def test_a_custom_token_under_a_custom_header() -> None:
    receiver = Receiver(TokenAuth("Bearer", "t0k3n", header="X-Espf-Auth"))
    recorder = Recorder()
    receiver.route("*", recorder)
    assert receiver.handle(request(BODY, {"x-espf-auth": "Bearer t0k3n"})).status == 200
    refused = receiver.handle(request(BODY, {"Authorization": "Bearer t0k3n"}))
    assert refused.status == 401 and "X-Espf-Auth header is missing" in refused.body["message"]


def test_credentials_are_not_in_reprs() -> None:
    for auth in (
        BasicAuth("espf", "pa55word"),
        TokenAuth("Token", "pa55word"),
        SignatureAuth([SECRET]),
    ):
        assert "pa55word" not in repr(auth) and SECRET not in repr(auth)


# -- routing ------------------------------------------------------------------------------


def test_exact_types_win_over_patterns_and_patterns_go_in_order() -> None:
    receiver = Receiver(NoAuth(), dedup=None)
    seen: list[tuple[str, str]] = []
    receiver.route("Account/*", lambda e: seen.append(("account", e.event_type)))
    receiver.route("Account/Service/*", lambda e: seen.append(("service", e.event_type)))
    receiver.route("Account/New", lambda e: seen.append(("new", e.event_type)))
    for number, name in enumerate(["Account/New", "Account/Service/Netaccess/QuotaExceeded"]):
        receiver.handle(request(body_of(name, i_event=number + 1), {}))
    assert seen == [("new", "Account/New"), ("account", "Account/Service/Netaccess/QuotaExceeded")]


def test_an_unmatched_type_gets_the_configured_answer() -> None:
    accepting = Receiver(NoAuth())
    assert accepting.handle(request(body_of("Customer/New"), {})).body["status"] == "ignored"
    rejecting = Receiver(NoAuth(), unmatched=422)
    answer = rejecting.handle(request(body_of("Customer/New"), {}))
    assert answer.status == 422 and "Customer/New" in answer.body["message"]
    with pytest.raises(ValueError):
        Receiver(NoAuth(), unmatched=503)
    with pytest.raises(ValueError, match="already"):
        accepting.route("Custom/X", Recorder())
        accepting.route("Custom/X", Recorder())


# -- outcomes -----------------------------------------------------------------------------


def answer_for(handler: object) -> tuple[int, dict[str, object], dict[str, str]]:
    receiver = Receiver(NoAuth())
    receiver.route("*", handler)  # type: ignore[arg-type]
    answer = receiver.handle(request(BODY, {}))
    return answer.status, answer.body, answer.headers


def test_reject_is_a_final_4xx_with_the_reason() -> None:
    def reject(event: Event) -> None:
        raise Reject("account 541 does not exist")

    assert answer_for(reject)[:2] == (
        422,
        {"error": "rejected", "message": "account 541 does not exist"},
    )

    def gone(event: Event) -> None:
        raise Reject("closed", status=410, code="account_closed")

    assert answer_for(gone)[0] == 410
    for not_final in (408, 429, 500, 200):
        with pytest.raises(ValueError):
            Reject("x", status=not_final)


def test_a_missing_variable_is_a_rejection() -> None:
    status, body, _ = answer_for(lambda event: event.variable("i_account"))
    assert status == 422 and "i_account" in str(body["message"])


def test_retry_later_is_503_with_retry_after_rounded_up() -> None:
    def later(event: Event) -> None:
        raise RetryLater("the HSS is in maintenance", after=2.5)

    status, body, headers = answer_for(later)
    assert (status, headers, body["message"]) == (
        503,
        {"Retry-After": "3"},
        "the HSS is in maintenance",
    )


def test_any_other_exception_is_a_logged_500(caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: Event) -> None:
        raise KeyError("password=hunter2")

    status, body, _ = answer_for(broken)
    assert status == 500 and "KeyError" in str(body["message"])
    assert "hunter2" not in str(body)  # the exception's text stays in the log
    assert "the handler failed" in caplog.text and "Traceback" in caplog.text


def test_async_handlers_run_in_both_modes() -> None:
    seen: list[int] = []

    async def handler(event: Event) -> None:
        seen.append(event.i_event)

    receiver = Receiver(NoAuth())
    receiver.route("*", handler)
    assert receiver.handle(request(body_of(i_event=1), {})).status == 200
    answer = asyncio.run(receiver.handle_async(request(body_of(i_event=2), {})))
    assert answer.status == 200 and seen == [1, 2]


# -- deduplication ------------------------------------------------------------------------


def test_a_resent_event_is_answered_200_without_running_the_handler_again() -> None:
    receiver, recorder = basic_receiver()
    first = receiver.handle(request(body_of(i_event=5), basic()))
    again = receiver.handle(request(body_of(i_event=5), basic()))
    other = receiver.handle(request(body_of(i_event=6), basic()))
    assert [first.status, again.status, other.status] == [200, 200, 200]
    assert again.body == {"status": "duplicate", "i_event": 5}
    assert [e.i_event for e in recorder.events] == [5, 6]


@pytest.mark.parametrize("failure", [KeyError("x"), RetryLater(after=1), Reject("no")])
def test_an_event_whose_handler_failed_is_processed_when_it_comes_again(failure: Exception) -> None:
    calls: list[int] = []

    def flaky(event: Event) -> None:
        calls.append(event.i_event)
        if len(calls) == 1:
            raise failure

    receiver = Receiver(NoAuth())
    receiver.route("*", flaky)
    statuses = [receiver.handle(request(BODY, {})).status for _ in range(3)]
    assert statuses[0] >= 400 and statuses[1:] == [200, 200]
    assert calls == [1, 1]  # the retry ran; the third delivery was a duplicate


def test_a_concurrent_delivery_of_the_same_event_waits_for_the_first() -> None:
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow(event: Event) -> None:
        calls.append(event.i_event)
        entered.set()
        release.wait(10)

    receiver = Receiver(NoAuth())
    receiver.route("*", slow)
    answers: list[int] = []
    first = threading.Thread(
        target=lambda: answers.append(receiver.handle(request(BODY, {})).status)
    )
    first.start()
    assert entered.wait(10)
    busy = receiver.handle(request(BODY, {}))
    release.set()
    first.join(10)
    assert busy.status == 503 and busy.body["error"] == "in_progress"
    assert int(busy.headers["Retry-After"]) >= 1
    assert answers == [200] and calls == [1]
    assert receiver.handle(request(BODY, {})).body["status"] == "duplicate"


def test_signature_ids_are_remembered_too() -> None:
    receiver = Receiver(SignatureAuth([SECRET]))
    recorder = Recorder()
    receiver.route("*", recorder)
    # The same webhook-id with a different i_event: a resend all the same.
    for number in (1, 2):
        body = body_of(i_event=number)
        receiver.handle(request(body, signed(body, msg_id="espf_1_1")))
    assert [e.i_event for e in recorder.events] == [1]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_memory_dedup_forgets_after_its_ttl() -> None:
    clock = FakeClock()
    receiver = Receiver(NoAuth(), dedup=MemoryDedup(ttl=60), require_date=False, clock=clock)
    recorder = Recorder()
    receiver.route("*", recorder)
    receiver.handle(request(BODY, {}, date=None))
    clock.now += 59
    receiver.handle(request(BODY, {}, date=None))
    clock.now += 2
    receiver.handle(request(BODY, {}, date=None))
    assert len(recorder.events) == 2


def test_a_lease_of_a_handler_that_never_finished_runs_out() -> None:
    store = MemoryDedup(lease=30)
    keys = ("i_event:1:1",)
    assert store.claim(keys, 100).claim is Claim.NEW
    busy = store.claim(keys, 110)
    assert busy.claim is Claim.BUSY and busy.busy_for == 20
    assert store.claim(keys, 131).claim is Claim.NEW  # the first owner died


def test_sqlite_dedup_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "received.db"
    first = Receiver(NoAuth(), dedup=SqliteDedup(path))
    recorder = Recorder()
    first.route("*", recorder)
    assert first.handle(request(BODY, {})).body["status"] == "processed"
    # A new process: a new store on the same file.
    second = Receiver(NoAuth(), dedup=SqliteDedup(path))
    second.route("*", recorder)
    assert second.handle(request(BODY, {})).body["status"] == "duplicate"
    assert second.handle(request(body_of(i_event=2), {})).body["status"] == "processed"
    assert len(recorder.events) == 2


def dedup_stores(tmp_path: Path) -> list[DedupStore]:
    return [
        MemoryDedup(ttl=60, lease=30),
        SqliteDedup(tmp_path / "received.db", ttl=60, lease=30),
    ]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_dedup_states_and_expiry(tmp_path: Path, kind: str) -> None:
    store = dedup_stores(tmp_path)[kind == "sqlite"]
    keys = ("i_event:1:7", "webhook-id:espf_7_1")
    first = store.claim(keys, 100)
    assert first.claim is Claim.NEW and first.owner
    assert store.claim(keys[1:], 101).claim is Claim.BUSY  # either key counts
    store.release(keys, first.owner)
    second = store.claim(keys, 102)
    assert second.claim is Claim.NEW
    store.complete(keys, 103)
    assert store.claim(keys[:1], 104).claim is Claim.DONE
    assert store.claim(keys, 164).claim is Claim.NEW  # done expired after ttl


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_handler_that_outlived_its_lease_cannot_free_the_next_claim(
    tmp_path: Path, kind: str
) -> None:
    store = dedup_stores(tmp_path)[kind == "sqlite"]
    keys = ("i_event:1:8",)
    stale = store.claim(keys, 100)
    newer = store.claim(keys, 131)  # the first lease ran out; a resend took over
    assert newer.claim is Claim.NEW and newer.owner != stale.owner
    store.release(keys, stale.owner)  # the old handler fails at last
    assert store.claim(keys, 132).claim is Claim.BUSY  # the newer claim stands


def test_two_stores_on_one_sqlite_file_share_their_claims(tmp_path: Path) -> None:
    """As two processes of one host would: one claim wins, the other waits."""
    path = tmp_path / "received.db"
    first, second = SqliteDedup(path), SqliteDedup(path)
    keys = ("i_event:1:9",)
    results: list[Claim] = []
    barrier = threading.Barrier(2)

    def claim(store: SqliteDedup) -> None:
        barrier.wait()
        results.append(store.claim(keys, time.time()).claim)

    threads = [threading.Thread(target=claim, args=(s,)) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(r.value for r in results) == ["busy", "new"]
    first.complete(keys, time.time())
    assert second.claim(keys, time.time()).claim is Claim.DONE
    first.close()
    second.close()


def test_the_handler_failure_log_names_the_event(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "espf.receiver")

    def broken(event: Event) -> None:
        raise RuntimeError("hss down")

    receiver = Receiver(NoAuth())
    receiver.route("*", broken)
    receiver.handle(request(body_of(i_event=42), {}))
    assert "i_event=42 Custom/NextMonth: the handler failed" in caplog.text


async def test_a_cancelled_handler_leaves_the_event_to_the_next_delivery() -> None:
    """The sender hung up mid-handler: whether it finished is unknown, so the
    resend runs the handler again instead of waiting out the lease."""
    started = asyncio.Event()
    calls: list[int] = []

    async def handler(event: Event) -> None:
        calls.append(event.i_event)
        if len(calls) == 1:
            started.set()
            await asyncio.sleep(60)

    receiver = Receiver(NoAuth())
    receiver.route("*", handler)
    first = asyncio.create_task(receiver.handle_async(request(BODY, {})))
    await asyncio.wait_for(started.wait(), 10)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    again = await receiver.handle_async(request(BODY, {}))
    assert again.body["status"] == "processed" and calls == [1, 1]
