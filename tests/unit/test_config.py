"""Settings: TOML file, then environment, then overrides; bad values stop
the start with a message that names the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from espf.config import DEFAULT_DATABASE_URL, ConfigError, Settings, load_settings


def write_toml(tmp_path: Path, text: str) -> str:
    path = tmp_path / "espf.toml"
    path.write_text(text)
    return str(path)


def test_defaults_without_any_configuration() -> None:
    settings = load_settings(environ={})
    assert settings == Settings()
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert (settings.port, settings.max_body_bytes) == (8080, 65536)


def test_environment_variables_are_read_and_converted() -> None:
    settings = load_settings(
        environ={
            "ESPF_PORT": "9090",
            "ESPF_RETRY_BASE_S": "0.25",
            "ESPF_DATABASE_URL": "sqlite:///x.db",
            "ESPF_ADMIN_LOGIN": "app",
        }
    )
    assert settings.port == 9090
    assert settings.retry_base_s == 0.25
    assert settings.database_url == "sqlite:///x.db"
    assert settings.admin_login == "app"


def test_toml_file_is_read(tmp_path: Path) -> None:
    path = write_toml(tmp_path, 'port = 9191\nretry_cap_s = 60.5\nlog_level = "debug"\n')
    settings = load_settings(environ={"ESPF_CONFIG": path})
    assert (settings.port, settings.retry_cap_s, settings.log_level) == (9191, 60.5, "debug")


def test_environment_wins_over_toml(tmp_path: Path) -> None:
    path = write_toml(tmp_path, 'port = 9191\nhost = "0.0.0.0"\n')
    settings = load_settings(environ={"ESPF_CONFIG": path, "ESPF_PORT": "9292"})
    assert settings.port == 9292
    assert settings.host == "0.0.0.0"  # not overridden: the file's value stays


def test_explicit_overrides_win_over_environment(tmp_path: Path) -> None:
    settings = load_settings(environ={"ESPF_PORT": "9292"}, port=9393, host=None)
    assert settings.port == 9393
    assert settings.host == "127.0.0.1"  # None means "not given"


def test_an_empty_environment_variable_counts_as_unset(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "port = 9191\n")
    assert load_settings(environ={"ESPF_CONFIG": path, "ESPF_PORT": ""}).port == 9191


def test_retry_policy_is_built_from_the_settings() -> None:
    settings = load_settings(
        environ={
            "ESPF_RETRY_BASE_S": "0.2",
            "ESPF_RETRY_FACTOR": "3",
            "ESPF_RETRY_CAP_S": "5",
            "ESPF_RETRY_MAX_ATTEMPTS": "7",
        }
    )
    policy = settings.retry_policy
    assert (policy.base_s, policy.factor, policy.cap_s, policy.max_attempts) == (0.2, 3, 5, 7)


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("ESPF_PORT", "eighty", "port"),
        ("ESPF_PORT", "0", "port"),
        ("ESPF_PORT", "70000", "port"),
        ("ESPF_MAX_BODY_BYTES", "0", "max_body_bytes"),
        ("ESPF_MAX_BODY_BYTES", "1.5", "max_body_bytes"),
        ("ESPF_RETRY_BASE_S", "fast", "retry_base_s"),
        ("ESPF_RETRY_BASE_S", "-1", "retry_base_s"),
        ("ESPF_RETRY_FACTOR", "0.5", "retry_factor"),
        ("ESPF_RETRY_MAX_ATTEMPTS", "-1", "retry_max_attempts"),
        ("ESPF_HANDLER_TIMEOUT_S", "0", "handler_timeout_s"),
        ("ESPF_DISPATCH_CONCURRENCY", "-5", "dispatch_concurrency"),
        ("ESPF_NODE_TTL_S", "0", "node_ttl_s"),
        ("ESPF_HEARTBEAT_INTERVAL_S", "20", "heartbeat_interval_s"),  # not under the TTL
        ("ESPF_LOG_LEVEL", "chatty", "log_level"),
    ],
)
def test_bad_environment_values_raise_config_error_naming_the_setting(
    variable: str, value: str, named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings(environ={variable: value})


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ('port = "eighty"\n', "port"),
        ("retry_base_s = true\n", "retry_base_s"),  # a bool is not a number
        ("dispatch_batch_size = false\n", "dispatch_batch_size"),
        ("node_ttl_s = 1\nheartbeat_interval_s = 1\n", "heartbeat_interval_s"),
        ("retry_delay = 5\n", "retry_delay"),  # unknown settings are named, not ignored
    ],
)
def test_bad_toml_values_raise_config_error_naming_the_setting(
    tmp_path: Path, toml: str, named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings(environ={"ESPF_CONFIG": write_toml(tmp_path, toml)})


def test_unreadable_or_invalid_toml_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(environ={"ESPF_CONFIG": str(tmp_path / "missing.toml")})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(environ={"ESPF_CONFIG": write_toml(tmp_path, "port = = 1\n")})


def test_replace_validates_too() -> None:
    settings = load_settings(environ={})
    assert settings.replace(port=9000).port == 9000
    with pytest.raises(ConfigError, match="port"):
        settings.replace(port=0)


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("1", True), ("no", False)])
def test_yes_no_settings(raw: str, expected: bool) -> None:
    settings = load_settings(environ={"ESPF_ADMIN_ALLOW_WEAK_PASSWORD": raw})
    assert settings.admin_allow_weak_password is expected


def test_a_yes_no_setting_says_what_it_takes() -> None:
    with pytest.raises(ConfigError, match=r"ADMIN_ALLOW_WEAK_PASSWORD.*true or false"):
        load_settings(environ={"ESPF_ADMIN_ALLOW_WEAK_PASSWORD": "perhaps"})


def test_session_settings() -> None:
    settings = load_settings(environ={"ESPF_SESSION_ACCESS_TTL_S": "60"})
    assert settings.session_access_ttl_s == 60
    with pytest.raises(ConfigError, match="session_ttl_s"):
        load_settings(environ={"ESPF_SESSION_TTL_S": "0"})
