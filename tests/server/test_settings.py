"""Settings from the environment, validated once; a bad value exits 2 naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tes_contract.errors import ConfigError
from tes_contract.server import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_of_the_brief():
    settings = Settings.from_env({})
    assert (settings.host, settings.port) == ("127.0.0.1", 3002)
    assert settings.tmux_status_url is None  # the server's own /api/dev/tmux/status
    assert settings.worker_status_url == "http://127.0.0.1:3003/workers/status"
    assert settings.upstream_timeout_ms == 5000 and settings.upstream_timeout_s == 5.0
    assert settings.primary_region == "us-east-1"
    assert not settings.naive and settings.probe_interval_s <= 5.0


def test_environment_read_and_flags_override():
    env = {"TES_HOST": "0.0.0.0", "TES_PORT": "8080", "TES_TMUX_STATUS_URL": "http://h:1/t",
           "TES_WORKER_API_URL": "http://w:2/", "TES_UPSTREAM_TIMEOUT_MS": "750", "TES_PRIMARY_REGION": "ap-1",
           "TES_TMUX_SOCKET": "private"}
    settings = Settings.from_env(env, port=9000, naive=None)
    assert settings == Settings(host="0.0.0.0", port=9000, tmux_status_url="http://h:1/t",
                                worker_api_url="http://w:2/", upstream_timeout_ms=750, primary_region="ap-1",
                                tmux_socket="private")
    assert settings.worker_status_url == "http://w:2/workers/status"


def test_empty_region_means_the_default():
    assert Settings.from_env({"TES_PRIMARY_REGION": ""}).primary_region == "us-east-1"


@pytest.mark.parametrize(("variable", "value"), [
    ("TES_PORT", "70000"), ("TES_PORT", "-1"), ("TES_PORT", "http"), ("TES_PORT", "80.5"),
    ("TES_UPSTREAM_TIMEOUT_MS", "-5"), ("TES_UPSTREAM_TIMEOUT_MS", "0"), ("TES_UPSTREAM_TIMEOUT_MS", "abc"),
    ("TES_UPSTREAM_TIMEOUT_MS", "1.5"), ("TES_WORKER_API_URL", "not a url"), ("TES_WORKER_API_URL", "ftp://x"),
    ("TES_TMUX_STATUS_URL", "localhost:3004/x"), ("TES_HOST", ""), ("TES_TMUX_SOCKET", "a/b"),
])
def test_bad_value_names_variable_and_value(variable, value):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: value})
    assert variable in str(caught.value) and repr(value) in str(caught.value)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(("variable", "value"), [("TES_UPSTREAM_TIMEOUT_MS", "soon"), ("TES_PORT", "99999")])
def test_serve_exits_2_naming_the_variable(variable, value):
    env = {**os.environ, "PYTHONPATH": str(ROOT), variable: value}
    result = subprocess.run([sys.executable, "-m", "tes_contract", "serve"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert f"{variable}={value!r}" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_server_reads_every_variable_the_contract_names():
    from tes_contract.contract.rules import ENVIRONMENT
    from tes_contract.server.settings import ENV_NAMES

    assert {name for name, _, _ in ENVIRONMENT} == set(ENV_NAMES.values())


def test_profile_defaults_and_empty_values():
    settings = Settings.from_env({"TES_PUSH_INTERVAL_MS": "", "TES_DEV_TOKEN": "", "TES_ALLOWED_ORIGINS": " "})
    assert settings.push_interval_ms == 1000 and settings.history_interval_ms == 10_000
    assert settings.history_retention_s == 604_800 and settings.state_dir == ".tes"
    assert settings.event_log == "logs/worker-events.log" and settings.alert_webhook_url is None
    assert settings.dev_token is None and settings.allowed_origins is None and settings.allowed_hosts is None


def test_lists_are_comma_separated():
    settings = Settings.from_env({"TES_ALLOWED_ORIGINS": "http://localhost:3002, https://dev.example",
                                  "TES_ALLOWED_HOSTS": "localhost:3002,[::1],dev.example"})
    assert settings.allowed_origins == ("http://localhost:3002", "https://dev.example")
    assert settings.allowed_hosts == ("localhost:3002", "[::1]", "dev.example")


@pytest.mark.parametrize(("variable", "value"), [
    ("TES_PUSH_INTERVAL_MS", "99"), ("TES_PUSH_INTERVAL_MS", "60001"), ("TES_PUSH_INTERVAL_MS", "1s"),
    ("TES_HISTORY_INTERVAL_MS", "50"), ("TES_HISTORY_RETENTION_S", "0"), ("TES_ALERT_WEBHOOK_URL", "mailto:x"),
    ("TES_ALLOWED_ORIGINS", "localhost:3002"), ("TES_ALLOWED_ORIGINS", "http://h:99999"),
    ("TES_ALLOWED_HOSTS", "a b"), ("TES_ALLOWED_HOSTS", "h:70000"),
])
def test_bad_profile_value_names_variable_and_value(variable, value):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: value})
    assert variable in str(caught.value) and repr(value) in str(caught.value)


def test_a_bad_dev_token_is_refused_without_echoing_it():
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"TES_DEV_TOKEN": "has space"})
    assert "TES_DEV_TOKEN" in str(caught.value) and "has space" not in str(caught.value)
    assert "s3cret" not in str(Settings(dev_token="s3cret").describe())
