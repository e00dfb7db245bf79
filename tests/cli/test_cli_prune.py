"""`espf prune`: --dry-run shows what would go, a run removes it, and a bad
retention setting stops the command with a message naming it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
from click.testing import CliRunner

from espf.cli import main
from espf.clock import FrozenClock
from espf.config import load_settings
from espf.service import Service
from espf.store import create_store


async def _old_unrouted_events(url: str, count: int) -> None:
    """Events made in 2023 that no handler took: unrouted for years now."""
    store = create_store(url)
    await store.open()
    try:
        service = Service(store, load_settings({}), FrozenClock())
        await service.prepare_database()
        await service.env_create("one", 1)
        for n in range(count):
            await service.event_create(1, {"event_type": "Account/New", "variables": {"n": n}})
        await store.dispatch_due("node", service.clock.now_ms(), 100)
    finally:
        await store.close()


def test_dry_run_then_prune(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'espf.db'}"
    asyncio.run(_old_unrouted_events(url, 3))
    runner = CliRunner()

    shown = runner.invoke(main, ["--database-url", url, "prune", "--dry-run"])
    assert shown.exit_code == 0, shown.output
    lines = {line.split()[0]: line for line in shown.output.splitlines()[1:]}
    assert "Would remove 3 events" in shown.output
    assert lines["unrouted"].split()[1] == "3" and "(kept 30d)" in lines["unrouted"]
    assert lines["delivered"].split()[1] == "0" and "(kept 7d)" in lines["delivered"]

    done = runner.invoke(main, ["--database-url", url, "prune"])
    assert done.exit_code == 0, done.output
    assert "Removed 3 events" in done.output
    again = runner.invoke(main, ["--database-url", url, "prune", "--dry-run"])
    assert "Would remove 0 events" in again.output
    assert runner.invoke(main, ["--database-url", url, "prune"]).output == "Nothing to prune\n"


def test_bad_retention_is_refused_before_anything_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'espf.db'}"
    result = CliRunner().invoke(
        main, ["--database-url", url, "prune"], env={"ESPF_RETENTION": "pending=1d"}
    )
    assert result.exit_code == 2
    assert "ESPF_RETENTION" in result.output and "never pruned" in result.output
    assert not (tmp_path / "espf.db").exists()


def test_db_stats_shows_rows_size_and_the_next_prune(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'espf.db'}"
    asyncio.run(_old_unrouted_events(url, 4))
    result = CliRunner().invoke(main, ["--database-url", url, "db", "stats"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("Database size: ")
    lines = [line.split() for line in out.splitlines()]
    assert ["events", "4"] in lines
    assert ["deliveries", "0"] in lines
    unrouted = next(line for line in lines if line[:2] == ["unrouted", "4"])
    assert unrouted[2].startswith("2023-"), "the oldest unrouted event's creation time"
    assert ["unrouted", "4", "events"] in lines, "the next prune removes all four"
    CliRunner().invoke(main, ["--database-url", url, "prune"])
    after = CliRunner().invoke(main, ["--database-url", url, "db", "stats"]).output
    assert ["events", "0"] in [line.split() for line in after.splitlines()]


def test_account_export_and_expunge(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'espf.db'}"
    asyncio.run(_old_unrouted_events(url, 2))
    runner = CliRunner()
    base = ["--database-url", url, "account"]

    async def add_account_events() -> None:
        store = create_store(url)
        await store.open()
        try:
            service = Service(store, load_settings({}), FrozenClock())
            for i_account in (541, 541, 777):
                await service.event_create(
                    1, {"event_type": "Account/New", "variables": {"i_account": i_account}}
                )
        finally:
            await store.close()

    asyncio.run(add_account_events())
    out = tmp_path / "541.jsonl"
    assert runner.invoke(main, [*base, "export", "1", "541", "-o", str(out)]).exit_code == 0
    records = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [r["record"] for r in records] == ["event", "event"]
    assert {r["variables"]["i_account"] for r in records} == {541}

    refused = runner.invoke(main, [*base, "export", "1", "abc"])
    assert refused.exit_code == 2 and "not a valid integer" in refused.output
    assert "positive integer" in runner.invoke(main, [*base, "export", "1", "0"]).output

    done = runner.invoke(main, [*base, "expunge", "1", "541", "--yes"])
    assert done.exit_code == 0, done.output
    assert done.output.startswith("Expunged account 541: 2 events")
    assert runner.invoke(main, [*base, "export", "1", "541"]).output == ""
    assert runner.invoke(main, [*base, "export", "1", "777"]).output.count("\n") == 1
    asked = runner.invoke(main, [*base, "expunge", "1", "777"], input="n\n")
    assert asked.exit_code == 1
    assert runner.invoke(main, [*base, "export", "1", "777"]).output.count("\n") == 1


def test_an_i_account_that_is_not_a_positive_integer_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'espf.db'}"
    for bad, words in (("abc", "not a valid integer"), ("0", "positive integer")):
        result = CliRunner().invoke(main, ["--database-url", url, "account", "export", "1", bad])
        assert result.exit_code != 0
        assert "i_account" in result.output.lower() and words in result.output


def test_dry_run_names_the_environments_with_windows_of_their_own(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'espf.db'}"
    result = CliRunner().invoke(
        main,
        ["--database-url", url, "prune", "--dry-run"],
        env={"ESPF_RETENTION_BY_ENV": "3: delivered=1d"},
    )
    assert result.exit_code == 0, result.output
    assert "(kept 7d, env 3: 1d)" in result.output
