"""An account's history exported and expunged on every backend: all of it,
and nothing of any other account."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from espf.domain import AccountKind, AccountRef
from espf.errors import BadRequest, Conflict, NotFound
from espf.service import Service
from tests.contract.test_delivery_control import answer, claim, create, handler
from tests.contract.test_retention import exists, rows_of, service

__all__ = ["service"]  # the fixture


async def _two_accounts(service: Service) -> dict[int, list[int]]:
    """Account 541 and 777, each with delivered, retried and rejected events,
    state history and status reports; plus an event with no account."""
    await handler(service)
    made: dict[int, list[int]] = {541: [], 777: []}
    for i_account in (541, 777):
        made[i_account].append(await create(service, i_account=i_account))
        made[i_account].append(await create(service, i_account=str(i_account), note="text id"))
    await answer(service, await claim(service), 503)
    service.clock.advance(1000)  # type: ignore[attr-defined]
    await answer(service, await claim(service), 200)
    for i_account in (541, 777):
        ref = AccountRef(AccountKind.I_ACCOUNT, str(i_account))
        await service.account_status_report(1, ref, "Netaccess", "IN_PROGRESS", "x", None)
        await service.account_status_report(1, ref, "Netaccess", "OK", "done", None)
    await create(service, i_customer=541)  # names a customer, not the account
    return made


def _records(history: Any, kind: str) -> list[dict[str, Any]]:
    return [r for r in history.records if r["record"] == kind]


async def test_export_writes_every_row_of_the_account_and_only_its_own(service: Service) -> None:
    made = await _two_accounts(service)
    history = await service.account_export(1, 541)
    events = _records(history, "event")
    assert [e["i_event"] for e in events] == made[541]
    assert all(e["variables"]["i_account"] in (541, "541") for e in events)
    deliveries = _records(history, "delivery")
    assert {d["i_event"] for d in deliveries} == set(made[541])
    assert all(d["state"] == "delivered" for d in deliveries)
    attempts = _records(history, "attempt")
    assert len(attempts) == 4, "two attempts (503 then 200) per event"
    assert {a["i_delivery"] for a in attempts} == {d["i_delivery"] for d in deliveries}
    assert {t["i_event"] for t in _records(history, "transition")} == set(made[541])
    statuses = _records(history, "status")
    assert [s["status"] for s in statuses] == ["IN_PROGRESS", "OK"]
    assert all(s["account"] == {"i_account": "541"} for s in statuses)
    lines = list(history.lines())
    assert len(lines) == len(history.records)
    assert orjson.loads(lines[0])["record"] == "event"


async def test_expunge_deletes_all_of_it_records_it_and_leaves_the_others(
    service: Service,
) -> None:
    made = await _two_accounts(service)
    others_before = await service.account_export(1, 777)
    rows_before = await rows_of(service, made[777])
    done = await service.account_expunge(1, 541, by=None)
    assert (done.events, done.deliveries, done.attempts, done.status_reports) == (2, 2, 4, 2)
    assert done.i_expunge >= 1
    assert [await exists(service, i) for i in made[541]] == [False, False]
    assert (await service.account_export(1, 541)).records == []
    status = await service.account_status(1, AccountRef(AccountKind.I_ACCOUNT, "541"))
    assert status.current == [] and status.history == []
    assert (await service.account_export(1, 777)).records == others_before.records
    assert await rows_of(service, made[777]) == rows_before
    assert (await service.db_stats()).rows["events"] == 3, "777's two and the customer's"


async def test_expunge_refuses_while_a_delivery_is_in_flight(service: Service) -> None:
    await handler(service)
    i_event = await create(service, i_account=9)
    claimed = await claim(service)
    with pytest.raises(Conflict) as refused:
        await service.account_expunge(1, 9)
    assert refused.value.code == "delivery_in_flight"
    assert await exists(service, i_event), "nothing was deleted"
    await answer(service, claimed, 200)
    assert (await service.account_expunge(1, 9)).events == 1


@pytest.mark.parametrize("bad", ["541", 0, -1, 2**63, 1.5, True, None])
async def test_an_i_account_of_the_wrong_type_is_refused(service: Service, bad: object) -> None:
    with pytest.raises(BadRequest, match="i_account must be a positive integer"):
        await service.account_export(1, bad)
    with pytest.raises(BadRequest):
        await service.account_expunge(1, bad)


async def test_an_unknown_environment_is_refused(service: Service) -> None:
    with pytest.raises(NotFound):
        await service.account_export(42, 541)
