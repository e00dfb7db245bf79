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


def test_an_environment_takes_the_installations_windows_with_its_own_in_place() -> None:
    settings = load_settings(
        {"ESPF_RETENTION": "failed=60d", "ESPF_RETENTION_BY_ENV": "3: delivered=1d; 5:failed=2h"}
    )
    policy = settings.retention_policy
    assert policy.windows_of(3)["delivered"] == DAY_S
    assert policy.windows_of(3)["failed"] == 60 * DAY_S, "the installation's, not the default"
    assert policy.windows_of(5)["failed"] == 2 * 3600
    assert policy.windows_of(1) == policy.windows_s
    scopes = policy.scopes(now_ms=10 * DAY_S * 1000)
    assert [(s.only_env, s.except_envs) for s in scopes] == [(3, ()), (5, ()), (None, (3, 5))]
    assert scopes[0].cutoffs["delivered"] == 9 * DAY_S * 1000


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("3: delivered=0d", "environment 3: delivered=0d: a retention window must be positive"),
        ("3: delivered=-2h", "must be positive"),
        ("3: delivred=1d", "environment 3: unknown state 'delivred'"),
        ("3: pending=1d", "never pruned"),
        ("x: delivered=1d", "the environment's id"),
        ("0: delivered=1d", "the environment's id"),
        ("-1: delivered=1d", "the environment's id"),
        ("delivered=1d", "the environment's id"),
        ("3:", "no windows given"),
        ("3: delivered=1d; 3: failed=2d", "named twice"),
    ],
)
def test_bad_retention_by_env_is_refused_at_start_naming_the_setting(
    value: str, words: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({"ESPF_RETENTION_BY_ENV": value})
    assert "ESPF_RETENTION_BY_ENV" in str(refused.value)
    assert words in str(refused.value)


def test_the_console_minutes_follow_the_longest_event_window_not_the_status_history() -> None:
    policy = load_settings({"ESPF_RETENTION": "account_history=90d"}).retention_policy
    (scope,) = policy.scopes(now_ms=100 * DAY_S * 1000)
    assert scope.oldest_cutoff == 70 * DAY_S * 1000, "30 days: failed, rejected..."
