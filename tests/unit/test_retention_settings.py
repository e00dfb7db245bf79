"""The retention setting: defaults, overrides, and bad input refused at start."""

from __future__ import annotations

import pytest

from espf.config import ConfigError, load_settings
from espf.retention import DAY_S, parse_retention


def test_defaults() -> None:
    windows = load_settings({}).retention_windows_s
    assert windows["delivered"] == windows["superseded"] == 7 * DAY_S
    for state in ("rejected", "failed", "cancelled", "unrouted", "account_history"):
        assert windows[state] == 30 * DAY_S


def test_overrides_keep_the_other_defaults() -> None:
    windows = parse_retention("delivered=1m, failed=90d,account_history=12h")
    assert windows["delivered"] == 60
    assert windows["failed"] == 90 * DAY_S
    assert windows["account_history"] == 12 * 3600
    assert windows["rejected"] == 30 * DAY_S


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("delivered=0d", "must be positive"),
        ("delivered=-1d", "must be positive"),
        ("delivred=7d", "unknown state 'delivred'"),
        ("pending=7d", "never pruned"),
        ("scheduled=1d", "never pruned"),
        ("delivered=7", "not a duration"),
        ("delivered", "state=duration"),
    ],
)
def test_bad_retention_is_refused_at_start_naming_the_setting(value: str, words: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({"ESPF_RETENTION": value})
    assert "ESPF_RETENTION" in str(refused.value)
    assert words in str(refused.value)


def test_prune_batch_size_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="prune_batch_size"):
        load_settings({"ESPF_PRUNE_BATCH_SIZE": "0"})
