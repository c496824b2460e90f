"""Configuration: each setting checked before anything is served, one line naming it (skill/config.py), and a
store that cannot be reached reported "degraded", not "ok" (issue 22, findings 7 and 13)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from simulator.local_servers import free_port
from skill import config as skill_config
from skill.app import create_app

ROOT = Path(__file__).resolve().parent.parent

LOCAL = {"SKILL_VERIFY_REQUESTS": "0"}  # what `make run` sets

MISTAKES = [
    ({"PORT": "99999"}, "PORT"),
    ({"PORT": "http"}, "PORT"),
    ({"SKILL_CERT_FETCH_TIMEOUT": "3s"}, "SKILL_CERT_FETCH_TIMEOUT"),
    ({"SKILL_CERT_FETCH_TIMEOUT": "nan"}, "SKILL_CERT_FETCH_TIMEOUT"),
    ({"SKILL_CERT_FETCH_TIMEOUT": "0"}, "SKILL_CERT_FETCH_TIMEOUT"),
    ({"SKILL_CERT_FAILURE_MEMORY": "-1"}, "SKILL_CERT_FAILURE_MEMORY"),
    ({"SKILL_STORE_RETRY_SECONDS": "soon"}, "SKILL_STORE_RETRY_SECONDS"),
    ({"WEB_CONCURRENCY": "two"}, "WEB_CONCURRENCY"),
    ({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY"),
    ({"SKILL_READ_TIMEOUT": "5s"}, "SKILL_READ_TIMEOUT"),
    ({"SKILL_STORE_TTL_DAYS": "half-a-year"}, "SKILL_STORE_TTL_DAYS"),
    ({"SKILL_THREADS": "0"}, "SKILL_THREADS"),
    ({"SKILL_THREADS": "8.5"}, "SKILL_THREADS"),
    ({"SKILL_STORE": "foo"}, "SKILL_STORE"),
    ({"SKILL_VERIFY_REQUESTS": "maybe"}, "SKILL_VERIFY_REQUESTS"),
    ({"SKILL_SECOND_LINE": "2"}, "SKILL_SECOND_LINE"),
    ({"SKILL_ID": "'amzn1.ask.skill.1234'"}, "SKILL_ID"),
    ({"SKILL_DYNAMODB_ENDPOINT": "localhost:8000"}, "SKILL_DYNAMODB_ENDPOINT"),
]


@pytest.mark.parametrize("mistake,setting", MISTAKES, ids=[next(iter(m.items()))[0] + "=" + next(iter(m.values()))
                                                           for m, _ in MISTAKES])
def test_each_mistake_is_one_line_naming_its_setting(mistake, setting):
    with pytest.raises(skill_config.ConfigError) as raised:
        skill_config.from_environment({**LOCAL, **mistake})
    assert raised.value.setting == setting
    line = str(raised.value)
    assert line.startswith(f"configuration error: {setting} ") and "\n" not in line
    assert repr(next(iter(mistake.values()))) in line  # the value as given, so the mistake can be found


def test_an_empty_environment_gives_the_embedded_defaults_and_settings_as_given_are_read():
    defaults = skill_config.from_environment(LOCAL)
    assert (defaults["PORT"], defaults["THREADS"], defaults["CERT_FETCH_TIMEOUT"], defaults["STORE_BACKEND"]) == (
        8000, 8, 3.0, "sqlite")
    given = skill_config.from_environment({**LOCAL, "PORT": " 5050 ", "SKILL_THREADS": "4", "SKILL_STORE": "DynamoDB",
                                           "SKILL_CERT_FETCH_TIMEOUT": "1.5", "SKILL_VERIFY_REQUESTS": "off"})
    assert (given["PORT"], given["THREADS"], given["STORE_BACKEND"], given["CERT_FETCH_TIMEOUT"]) == (
        5050, 4, "dynamodb", 1.5)
    assert given["VERIFY_REQUESTS"] is False


def test_verification_on_without_a_skill_id_refuses_to_start(tmp_path):
    """Finding 7: it started silently and served any Amazon-signed request for any skill."""
    with pytest.raises(skill_config.ConfigError) as raised:
        create_app({"VERIFY_REQUESTS": True, "SKILL_ID": None, "DB_PATH": str(tmp_path / "s.sqlite3")})
    assert raised.value.setting == "SKILL_ID"
    with pytest.raises(skill_config.ConfigError):
        skill_config.check_app_config(skill_config.from_environment({}))  # the embedded default: verification on
    skill_config.check_app_config(skill_config.from_environment({"SKILL_ID": "amzn1.ask.skill.x"}))
    skill_config.check_app_config(skill_config.from_environment({"SKILL_ACCEPT_ANY_SKILL": "1"}))


@pytest.mark.slow
def test_a_dynamodb_store_out_of_reach_at_start_is_degraded_not_ok(monkeypatch):
    """Finding 13: without credentials or network, /healthz said ok. Real boto3 against a closed loopback port,
    and with no credentials anywhere (the instance metadata service too)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    base = {"VERIFY_REQUESTS": False, "STORE_BACKEND": "dynamodb", "DB_PATH": "/nonexistent/never-used.sqlite3",
            "STORE_RETRY_SECONDS": 3600}
    no_credentials = create_app(base).test_client().get("/healthz").get_json()
    assert no_credentials["status"] == "degraded" and "NoCredentialsError" in no_credentials["store"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    closed = f"http://127.0.0.1:{free_port()}"
    no_network = create_app({**base, "DYNAMODB_ENDPOINT": closed}).test_client().get("/healthz").get_json()
    assert no_network["status"] == "degraded" and "EndpointConnectionError" in no_network["store"]


@pytest.mark.slow
def test_mistakes_stop_each_way_in_with_one_line_and_no_traceback():
    """make run, flask run, make serve, gunicorn and Lambda's import, each a real process (the table's command)."""
    rows = ["PORT=99999", "SKILL_STORE=foo", "WEB_CONCURRENCY=two", "SKILL_THREADS=0", "SKILL_READ_TIMEOUT",
            "SKILL_ID unset"]
    result = subprocess.run([sys.executable, "scripts/config_mistakes.py", "--only", *rows], cwd=ROOT,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for entry in ("make run", "flask run", "make serve", "gunicorn", "Lambda import"):
        assert f" {entry} " in out, out
    assert out.count("configuration error: ") == 7, out
